/* Native lazy binding from C: a fixture shared library (its path is argv[1],
 * built by the Rust driver from tests/fixtures/native_fixture.c) loaded on
 * first access, a symbol called through a function pointer, and the errors
 * of a missing symbol, a missing library and handles of the wrong kind. */
#include "check.h"

typedef int (*add_fn)(int, int);
typedef int (*count_fn)(void);

/* Resolves `symbol` and returns its address (ISO C cannot cast a void
 * pointer to a function pointer, so callers copy it). */
static void *address_of(const lazy_bind_native *native, lazy_bind_handle symbol) {
  void *address = NULL;
  lazy_bind_error *error = NULL;
  lazy_bind_result status = lazy_bind_native_symbol(native, symbol, "main.py", 20, &address,
                                                    &error);
  if (status != LAZY_BIND_OK) {
    fprintf(stderr, "symbol failed: %s\n", lazy_bind_error_message(error));
    exit(1);
  }
  CHECK(error == NULL);
  return address;
}

static void check_contains(const char *text, const char *part) {
  if (text == NULL || strstr(text, part) == NULL) {
    fprintf(stderr, "\"%s\" lacks \"%s\"\n", text ? text : "(null)", part);
    exit(1);
  }
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  const char *fixture = argv[1];
  lazy_bind_native *native = NULL;
  CHECK_OK(lazy_bind_native_new(&native));

  lazy_bind_handle library, add, count, missing;
  CHECK_OK(lazy_bind_native_defer_library(native, fixture, "fixture", "main.py", 1, &library));
  CHECK_OK(lazy_bind_native_defer_symbol(native, library, "lb_fixture_add", "add", "main.py", 2,
                                         &add));
  CHECK_OK(lazy_bind_native_defer_symbol(native, library, "lb_fixture_load_count", "count",
                                         NULL, 0, &count));
  CHECK_OK(lazy_bind_native_defer_symbol(native, library, "lb_fixture_missing", "helper",
                                         "main.py", 4, &missing));

  /* The first access loads the library and looks the symbol up. */
  void *address = address_of(native, add);
  CHECK(address != NULL);
  add_fn add_call;
  memcpy(&add_call, &address, sizeof add_call);
  CHECK(add_call(40, 2) == 42);
  CHECK(address_of(native, add) == address); /* resolved once */
  address = address_of(native, count);
  count_fn count_call;
  memcpy(&count_call, &address, sizeof count_call);
  CHECK(count_call() == 1); /* one dlopen for the library and its symbols */
  CHECK_OK(lazy_bind_native_load(native, library, NULL, 0, NULL));
  CHECK(count_call() == 1);

  /* A missing symbol: the error names it, its declaration and the access. */
  void *untouched = &untouched;
  lazy_bind_error *error = NULL;
  CHECK_STATUS(lazy_bind_native_symbol(native, missing, "main.py", 30, &untouched, &error),
               LAZY_BIND_RESOLVER_FAILED);
  CHECK(untouched == &untouched);
  CHECK(lazy_bind_error_kind(error) == LAZY_BIND_RESOLVER_FAILED);
  check_contains(lazy_bind_error_message(error), "lb_fixture_missing");
  check_contains(lazy_bind_error_message(error), fixture);
  CHECK_STR(lazy_bind_error_declaration_name(error), "helper");
  CHECK(lazy_bind_error_declaration_line(error) == 4);
  CHECK_STR(lazy_bind_error_access_file(error), "main.py");
  CHECK(lazy_bind_error_access_line(error) == 30);
  lazy_bind_error_free(&error);
  /* Retried, and still failing, at the next access; the report is optional. */
  CHECK_STATUS(lazy_bind_native_symbol(native, missing, NULL, 0, &untouched, NULL),
               LAZY_BIND_RESOLVER_FAILED);

  /* A missing library fails at access, for the library and its symbols. */
  lazy_bind_handle absent, absent_symbol;
  CHECK_OK(lazy_bind_native_defer_library(native, "/nonexistent/lazy_bind/libabsent.so",
                                          "absent", "main.py", 5, &absent));
  CHECK_OK(lazy_bind_native_defer_symbol(native, absent, "f", "f", "main.py", 6,
                                         &absent_symbol));
  CHECK_STATUS(lazy_bind_native_load(native, absent, "main.py", 31, &error),
               LAZY_BIND_RESOLVER_FAILED);
  check_contains(lazy_bind_error_message(error), "/nonexistent/lazy_bind/libabsent.so");
  lazy_bind_error_free(&error);
  CHECK_STATUS(lazy_bind_native_symbol(native, absent_symbol, NULL, 0, &untouched, &error),
               LAZY_BIND_RESOLVER_FAILED);
  check_contains(lazy_bind_error_message(error), "libabsent.so");
  lazy_bind_error_free(&error);

  /* Handles of the wrong kind are stale, never confused. */
  lazy_bind_handle out = library;
  CHECK_STATUS(lazy_bind_native_defer_symbol(native, add, "x", "x", NULL, 0, &out),
               LAZY_BIND_STALE_HANDLE);
  CHECK(out.stamp == library.stamp && out.index == library.index);
  CHECK_STATUS(lazy_bind_native_symbol(native, library, NULL, 0, &untouched, &error),
               LAZY_BIND_STALE_HANDLE);
  CHECK(lazy_bind_error_kind(error) == LAZY_BIND_STALE_HANDLE);
  lazy_bind_error_free(&error);
  CHECK_STATUS(lazy_bind_native_load(native, add, NULL, 0, NULL), LAZY_BIND_STALE_HANDLE);

  /* Misuse is a status. */
  CHECK_STATUS(lazy_bind_native_new(NULL), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_native_defer_library(native, NULL, "x", NULL, 0, &out),
               LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_native_defer_library(native, fixture, NULL, NULL, 0, &out),
               LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_native_defer_symbol(native, library, "\xff", "x", NULL, 0, &out),
               LAZY_BIND_INVALID_UTF8);
  CHECK_STATUS(lazy_bind_native_symbol(native, add, NULL, 0, NULL, NULL),
               LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_native_load(NULL, library, NULL, 0, NULL), LAZY_BIND_NULL_ARGUMENT);
  CHECK(untouched == &untouched);

  lazy_bind_native_free(&native);
  CHECK(native == NULL);
  lazy_bind_native_free(&native); /* harmless twice */
  lazy_bind_native_free(NULL);
  printf("native: ok\n");
  return 0;
}
