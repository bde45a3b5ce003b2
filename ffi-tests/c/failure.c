/* Resolvers that fail: the error object, the runtime's own error, retry and
 * sticky failures. */
#include "check.h"

static test_object exception = {"ImportError", 1};
static test_object module = {"module", 1};
static int calls;

/* Fails on the first call with a runtime error object, then succeeds. */
static uint32_t fail_once(void *userdata, const lazy_bind_engine *engine,
                          lazy_bind_handle handle, void **value_out,
                          void **runtime_error_out) {
  (void)userdata, (void)engine, (void)handle;
  if (calls++ == 0) {
    *runtime_error_out = test_new_ref(&exception);
    return LAZY_BIND_RESOLVER_FAILED;
  }
  *value_out = test_new_ref(&module);
  return LAZY_BIND_OK;
}

static uint32_t fail_always(void *userdata, const lazy_bind_engine *engine,
                            lazy_bind_handle handle, void **value_out,
                            void **runtime_error_out) {
  (void)userdata, (void)engine, (void)handle, (void)value_out, (void)runtime_error_out;
  calls++;
  return LAZY_BIND_RESOLVER_FAILED;
}

/* Describes an error object by its name, as a runtime would print its
 * exception; returns the full length, as snprintf does. */
static int describe_calls;
static size_t describe_by_name(void *userdata, void *error, char *buffer, size_t capacity) {
  (void)userdata;
  describe_calls++;
  return (size_t)snprintf(buffer, capacity, "%s: No module named 'numpy'",
                          ((test_object *)error)->name);
}

/* Claims success without a value: the engine treats it as a failure. */
static uint32_t ok_without_value(void *userdata, const lazy_bind_engine *engine,
                                 lazy_bind_handle handle, void **value_out,
                                 void **runtime_error_out) {
  (void)userdata, (void)engine, (void)handle, (void)value_out, (void)runtime_error_out;
  return LAZY_BIND_OK;
}

static void check_message_has(const lazy_bind_error *error, const char *part) {
  const char *message = lazy_bind_error_message(error);
  if (message == NULL || strstr(message, part) == NULL) {
    fprintf(stderr, "message \"%s\" lacks \"%s\"\n", message ? message : "(null)", part);
    exit(1);
  }
}

int main(void) {
  test_runtime runtime = {0, 0, 0, 0};
  lazy_bind_runtime_hooks hooks = test_hooks(&runtime);
  lazy_bind_engine *engine = NULL;
  CHECK_OK(lazy_bind_engine_new(&hooks, 0, &engine));

  lazy_bind_handle h;
  CHECK_OK(lazy_bind_entry_create(engine, "numpy", "app.py", 7, fail_once, NULL, NULL, &h));
  void *value = (void *)&value; /* must stay untouched on failure */
  lazy_bind_error *error = NULL;
  CHECK_STATUS(lazy_bind_resolve(engine, h, "app.py", 42, &value, &error),
               LAZY_BIND_RESOLVER_FAILED);
  CHECK(value == (void *)&value);
  CHECK(error != NULL);
  CHECK(lazy_bind_error_kind(error) == LAZY_BIND_RESOLVER_FAILED);
  CHECK(lazy_bind_error_resolver_status(error) == LAZY_BIND_RESOLVER_FAILED);
  CHECK(lazy_bind_error_runtime_value(error) == &exception);
  CHECK_STR(lazy_bind_error_declaration_name(error), "numpy");
  CHECK_STR(lazy_bind_error_declaration_file(error), "app.py");
  CHECK(lazy_bind_error_declaration_line(error) == 7);
  CHECK_STR(lazy_bind_error_access_file(error), "app.py");
  CHECK(lazy_bind_error_access_line(error) == 42);
  CHECK(lazy_bind_error_chain_len(error) == 0);
  CHECK(lazy_bind_error_chain_name(error, 0) == NULL);
  const char *message = lazy_bind_error_message(error);
  CHECK(message != NULL);
  CHECK(strstr(message, "'numpy' (declared at app.py:7)") != NULL);
  CHECK(strstr(message, "resolving at app.py:42") != NULL);
  CHECK(test_refs(&exception) == 2); /* the error holds the exception */
  lazy_bind_error_free(&error);
  CHECK(test_refs(&exception) == 1); /* released with the last error */

  /* Failures are retried by default. */
  CHECK_OK(lazy_bind_resolve(engine, h, "app.py", 43, &value, NULL));
  CHECK(value == &module);
  CHECK(calls == 2);

  /* OK without a value is a failure, not a NULL value. */
  lazy_bind_handle h_null;
  CHECK_OK(lazy_bind_entry_create(engine, "null", NULL, 0, ok_without_value, NULL, NULL,
                                  &h_null));
  CHECK_STATUS(lazy_bind_resolve(engine, h_null, NULL, 0, &value, &error),
               LAZY_BIND_RESOLVER_FAILED);
  CHECK(lazy_bind_error_resolver_status(error) == LAZY_BIND_OK);
  CHECK(lazy_bind_error_runtime_value(error) == NULL);
  CHECK(lazy_bind_error_access_file(error) == NULL); /* access site unknown */
  CHECK_STR(lazy_bind_error_declaration_file(error), "<unknown>");
  lazy_bind_error_free(&error);
  lazy_bind_engine_free(&engine);

  /* With a describe hook the message carries the runtime's own words,
   * taken once, when the resolver failed. */
  hooks.describe = describe_by_name;
  calls = 0;
  CHECK_OK(lazy_bind_engine_new(&hooks, 0, &engine));
  CHECK_OK(lazy_bind_entry_create(engine, "numpy", "app.py", 7, fail_once, NULL, NULL, &h));
  CHECK_STATUS(lazy_bind_resolve(engine, h, "app.py", 42, &value, &error),
               LAZY_BIND_RESOLVER_FAILED);
  check_message_has(error, "'numpy' (declared at app.py:7)");
  check_message_has(error, "ImportError: No module named 'numpy'");
  CHECK(strstr(lazy_bind_error_message(error), "runtime error object") == NULL);
  CHECK(describe_calls == 1);
  lazy_bind_error_free(&error);
  CHECK(describe_calls == 1);
  lazy_bind_engine_free(&engine);
  hooks.describe = NULL;

  /* Sticky failures: the resolver runs once; every access gets the error. */
  calls = 0;
  CHECK_OK(lazy_bind_engine_new(&hooks, LAZY_BIND_STICKY_FAILURES, &engine));
  CHECK_OK(lazy_bind_entry_create(engine, "gone", "app.py", 9, fail_always, NULL, NULL, &h));
  CHECK_STATUS(lazy_bind_resolve(engine, h, NULL, 0, &value, NULL), LAZY_BIND_RESOLVER_FAILED);
  CHECK_STATUS(lazy_bind_resolve(engine, h, NULL, 0, &value, &error),
               LAZY_BIND_RESOLVER_FAILED);
  CHECK(calls == 1);
  CHECK_STR(lazy_bind_error_declaration_name(error), "gone");
  lazy_bind_error_free(&error);
  lazy_bind_state state;
  CHECK_OK(lazy_bind_peek(engine, h, &state, NULL, NULL, &error));
  CHECK(state == LAZY_BIND_STATE_FAILED);
  CHECK(lazy_bind_error_kind(error) == LAZY_BIND_RESOLVER_FAILED);
  lazy_bind_error_free(&error);
  lazy_bind_engine_free(&engine);

  CHECK(test_refs(&module) == 1);
  CHECK(test_refs(&exception) == 1);
  CHECK(runtime.releases == 3); /* two exceptions and the module */
  printf("failure: ok\n");
  return 0;
}
