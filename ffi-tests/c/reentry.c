/* A resolver that re-enters the engine: it creates and resolves another
 * entry of the same engine while its own resolution is in progress. */
#include "check.h"

static test_object base = {"base", 1};
static test_object derived = {"derived", 1};

static uint32_t resolve_base(void *userdata, const lazy_bind_engine *engine,
                             lazy_bind_handle handle, void **value_out,
                             void **runtime_error_out) {
  (void)userdata, (void)engine, (void)handle, (void)runtime_error_out;
  *value_out = test_new_ref(&base);
  return LAZY_BIND_OK;
}

/* Resolving "derived" needs "base", a fresh entry it creates itself. */
static uint32_t resolve_derived(void *userdata, const lazy_bind_engine *engine,
                                lazy_bind_handle handle, void **value_out,
                                void **runtime_error_out) {
  (void)runtime_error_out;
  lazy_bind_handle *base_out = (lazy_bind_handle *)userdata;
  /* While resolving, the entry is RESOLVING on this thread. */
  lazy_bind_state state;
  uint64_t owner = 0;
  CHECK_OK(lazy_bind_peek(engine, handle, &state, NULL, &owner, NULL));
  CHECK(state == LAZY_BIND_STATE_RESOLVING);
  CHECK(owner == lazy_bind_thread_key());

  CHECK_OK(lazy_bind_entry_create(engine, "base", "derived.py", 1, resolve_base, NULL, NULL,
                                  base_out));
  void *value = NULL;
  lazy_bind_error *error = NULL;
  uint32_t status = lazy_bind_resolve(engine, *base_out, "derived.py", 2, &value, &error);
  if (status != LAZY_BIND_OK) {
    lazy_bind_error_free(&error);
    return status;
  }
  CHECK(value == &base);
  *value_out = test_new_ref(&derived);
  return LAZY_BIND_OK;
}

int main(void) {
  test_runtime runtime = {0, 0, 0, 0};
  lazy_bind_runtime_hooks hooks = test_hooks(&runtime);
  lazy_bind_engine *engine = NULL;
  CHECK_OK(lazy_bind_engine_new(&hooks, 0, &engine));

  lazy_bind_handle h_base = {0, 0};
  lazy_bind_handle h_derived;
  CHECK_OK(lazy_bind_entry_create(engine, "derived", "main.py", 1, resolve_derived, &h_base,
                                  NULL, &h_derived));
  void *value = NULL;
  CHECK_OK(lazy_bind_resolve(engine, h_derived, "main.py", 2, &value, NULL));
  CHECK(value == &derived);
  CHECK(h_base.stamp != 0);
  const lazy_bind_slot *slot = NULL;
  CHECK_OK(lazy_bind_engine_slot(engine, h_base, &slot));
  CHECK(lazy_bind_get_fast(slot, h_base.stamp) == &base);

  lazy_bind_engine_free(&engine);
  CHECK(test_refs(&base) == 1);
  CHECK(test_refs(&derived) == 1);
  printf("reentry: ok\n");
  return 0;
}
