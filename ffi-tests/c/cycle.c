/* A same-thread cycle: resolving a needs b, resolving b needs a. The inner
 * access fails with LAZY_BIND_CYCLE naming the chain a -> b -> a; each
 * resolver passes it up by its status, so the outer access reports the same
 * cycle. */
#include "check.h"

static lazy_bind_handle h_a, h_b;
static lazy_bind_error *cycle_error;

/* Resolves the entry given as userdata and passes its failure up. */
static uint32_t needs(void *userdata, const lazy_bind_engine *engine,
                      lazy_bind_handle handle, void **value_out,
                      void **runtime_error_out) {
  (void)handle, (void)runtime_error_out;
  const lazy_bind_handle *other = (const lazy_bind_handle *)userdata;
  lazy_bind_error *error = NULL;
  uint32_t status = lazy_bind_resolve(engine, *other, "cycle.c", 20, value_out, &error);
  if (status == LAZY_BIND_CYCLE && cycle_error == NULL) {
    cycle_error = error; /* the innermost one, kept for main to inspect */
  } else {
    lazy_bind_error_free(&error);
  }
  return status;
}

int main(void) {
  lazy_bind_engine *engine = NULL;
  CHECK_OK(lazy_bind_engine_new(NULL, 0, &engine));
  CHECK_OK(lazy_bind_entry_create(engine, "a", "a.py", 1, needs, &h_b, NULL, &h_a));
  CHECK_OK(lazy_bind_entry_create(engine, "b", "b.py", 2, needs, &h_a, NULL, &h_b));

  void *value = NULL;
  lazy_bind_error *error = NULL;
  /* a's resolver gets b's failure, the cycle, and returns its status: a's
   * access reports the cycle itself, not a resolver failure. */
  CHECK_STATUS(lazy_bind_resolve(engine, h_a, "main.py", 5, &value, &error),
               LAZY_BIND_CYCLE);
  CHECK(lazy_bind_error_resolver_status(error) == LAZY_BIND_OK);
  CHECK(lazy_bind_error_chain_len(error) == 3);
  CHECK_STR(lazy_bind_error_chain_name(error, 1), "b");
  lazy_bind_error_free(&error);

  /* The innermost access saw the cycle with its whole chain. */
  CHECK(cycle_error != NULL);
  CHECK(lazy_bind_error_kind(cycle_error) == LAZY_BIND_CYCLE);
  CHECK(lazy_bind_error_chain_len(cycle_error) == 3);
  CHECK_STR(lazy_bind_error_chain_name(cycle_error, 0), "a");
  CHECK_STR(lazy_bind_error_chain_name(cycle_error, 1), "b");
  CHECK_STR(lazy_bind_error_chain_name(cycle_error, 2), "a");
  CHECK_STR(lazy_bind_error_chain_file(cycle_error, 1), "b.py");
  CHECK(lazy_bind_error_chain_line(cycle_error, 1) == 2);
  CHECK(lazy_bind_error_chain_thread(cycle_error, 0) == lazy_bind_thread_key());
  CHECK(lazy_bind_error_chain_name(cycle_error, 3) == NULL);
  CHECK(lazy_bind_error_chain_line(cycle_error, 3) == 0);
  CHECK_STR(lazy_bind_error_access_file(cycle_error), "cycle.c");
  const char *message = lazy_bind_error_message(cycle_error);
  CHECK(strstr(message, "'a' (declared at a.py:1)") != NULL);
  CHECK(strstr(message, "-> 'b' (declared at b.py:2)") != NULL);
  lazy_bind_error_free(&cycle_error);

  /* Nothing is stuck: both entries are pending again. */
  lazy_bind_state state;
  CHECK_OK(lazy_bind_peek(engine, h_a, &state, NULL, NULL, NULL));
  CHECK(state == LAZY_BIND_STATE_PENDING);
  CHECK_OK(lazy_bind_peek(engine, h_b, &state, NULL, NULL, NULL));
  CHECK(state == LAZY_BIND_STATE_PENDING);
  lazy_bind_engine_free(&engine);
  printf("cycle: ok\n");
  return 0;
}
