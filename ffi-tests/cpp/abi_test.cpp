// The C ABI from C++17: the header compiles as C++ (extern "C", enums with
// a fixed underlying type), lambdas serve as resolvers, and an owning
// wrapper frees through the documented _free(&pointer) convention.
#include "lazy_bind.h"
#include "lazy_bind.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>

#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
      std::exit(1);                                                                   \
    }                                                                                 \
  } while (0)

static_assert(std::is_same<std::underlying_type<lazy_bind_result>::type, uint32_t>::value,
              "lazy_bind_result is a 32-bit enum");
static_assert(sizeof(lazy_bind_handle) == 16, "the handle is {uint64_t, uint32_t}");
static_assert(LAZY_BIND_DEADLOCK == 6, "status numbers are ABI");

namespace {

struct EngineDeleter {
  void operator()(lazy_bind_engine *engine) const { lazy_bind_engine_free(&engine); }
};
using Engine = std::unique_ptr<lazy_bind_engine, EngineDeleter>;

struct Module {
  std::string name;
  int refs = 1;
};

}  // namespace

int main() {
  lazy_bind_runtime_hooks hooks{};
  hooks.size = sizeof hooks;
  hooks.retain = [](void *, void *value) { static_cast<Module *>(value)->refs++; };
  hooks.release = [](void *, void *value) { static_cast<Module *>(value)->refs--; };

  lazy_bind_engine *raw = nullptr;
  CHECK(lazy_bind_engine_new(&hooks, 0, &raw) == LAZY_BIND_OK);
  Engine engine(raw);

  Module json{"json"};
  lazy_bind_handle handle{};
  auto resolve = [](void *userdata, const lazy_bind_engine *, lazy_bind_handle, void **value_out,
                    void **) -> uint32_t {
    auto *module = static_cast<Module *>(userdata);
    module->refs++;
    *value_out = module;
    return LAZY_BIND_OK;
  };
  CHECK(lazy_bind_entry_create(engine.get(), "json", "main.cpp", 1, resolve, &json, nullptr,
                               &handle) == LAZY_BIND_OK);

  const lazy_bind_slot *slot = nullptr;
  CHECK(lazy_bind_engine_slot(engine.get(), handle, &slot) == LAZY_BIND_OK);
  CHECK(lazy_bind_get_fast(slot, handle.stamp) == nullptr);
  void *value = nullptr;
  CHECK(lazy_bind_resolve(engine.get(), handle, "main.cpp", 2, &value, nullptr) == LAZY_BIND_OK);
  CHECK(static_cast<Module *>(value)->name == "json");
  CHECK(lazy_bind_get_fast(slot, handle.stamp) == &json);
  CHECK(json.refs == 2);

  lazy_bind_error *error = nullptr;
  CHECK(lazy_bind_entry_discard(engine.get(), handle) == LAZY_BIND_OK);
  CHECK(lazy_bind_resolve(engine.get(), handle, "main.cpp", 3, &value, &error) ==
        LAZY_BIND_STALE_HANDLE);
  CHECK(std::strcmp(lazy_bind_error_access_file(error), "main.cpp") == 0);
  lazy_bind_error_free(&error);
  CHECK(error == nullptr);

  CHECK(lazy_bind_version() == LAZY_BIND_VERSION);
  engine.reset();
  CHECK(json.refs == 1);
  std::printf("abi_test: ok\n");
  return 0;
}
