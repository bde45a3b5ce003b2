/* Misuse through the C ABI: NULL arguments, stale and foreign handles, bad
 * flags, bad hooks and bad strings all return a status (never crash), and
 * out-parameters stay untouched on failure. */
#include "check.h"

static uint32_t resolve_self(void *userdata, const lazy_bind_engine *engine,
                             lazy_bind_handle handle, void **value_out,
                             void **runtime_error_out) {
  (void)engine, (void)handle, (void)runtime_error_out;
  *value_out = userdata;
  return LAZY_BIND_OK;
}

static int drops;
static void count_drop(void *userdata) {
  (void)userdata;
  drops++;
}

int main(void) {
  static int object = 7;
  lazy_bind_engine *engine = NULL;
  lazy_bind_handle h;
  void *value = &object;
  lazy_bind_error *error = NULL;
  lazy_bind_state state = LAZY_BIND_STATE_FAILED;
  const lazy_bind_slot *slot = NULL;

  /* NULL arguments. */
  CHECK_STATUS(lazy_bind_engine_new(NULL, 0, NULL), LAZY_BIND_NULL_ARGUMENT);
  CHECK_OK(lazy_bind_engine_new(NULL, 0, &engine));
  CHECK_STATUS(lazy_bind_entry_create(NULL, "x", NULL, 0, resolve_self, &object, NULL, &h),
               LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_entry_create(engine, NULL, NULL, 0, resolve_self, &object, NULL, &h),
               LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_entry_create(engine, "x", NULL, 0, NULL, &object, NULL, &h),
               LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_entry_create(engine, "x", NULL, 0, resolve_self, &object, count_drop,
                                      NULL),
               LAZY_BIND_NULL_ARGUMENT);
  CHECK(drops == 0); /* on failure the caller keeps its userdata */
  CHECK_STATUS(lazy_bind_entry_create_resolved(engine, "x", NULL, 0, NULL, &h),
               LAZY_BIND_NULL_ARGUMENT);
  CHECK_OK(lazy_bind_entry_create(engine, "x", NULL, 0, resolve_self, &object, count_drop,
                                  &h));
  CHECK_STATUS(lazy_bind_resolve(NULL, h, NULL, 0, &value, &error), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_resolve(engine, h, NULL, 0, NULL, &error), LAZY_BIND_NULL_ARGUMENT);
  CHECK(error == NULL);
  CHECK_STATUS(lazy_bind_peek(engine, h, NULL, NULL, NULL, NULL), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_peek(NULL, h, &state, NULL, NULL, NULL), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_entry_provide(engine, h, NULL, NULL), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_entry_provide(NULL, h, &object, NULL), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_entry_discard(NULL, h), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_engine_slot(engine, h, NULL), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_engine_slot(NULL, h, &slot), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_engine_counters(engine, NULL), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_engine_counters(NULL, NULL), LAZY_BIND_NULL_ARGUMENT);
  size_t failures = 5;
  CHECK_STATUS(lazy_bind_resolve_all_pending(engine, NULL, NULL), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_resolve_all_pending(NULL, &failures, NULL), LAZY_BIND_NULL_ARGUMENT);
  CHECK(failures == 5);
  CHECK_STATUS(lazy_bind_after_fork_child(NULL, NULL), LAZY_BIND_NULL_ARGUMENT);

  /* Accessors of a NULL error or list answer NULL or 0. */
  CHECK(lazy_bind_error_kind(NULL) == LAZY_BIND_OK);
  CHECK(lazy_bind_error_message(NULL) == NULL);
  CHECK(lazy_bind_error_declaration_name(NULL) == NULL);
  CHECK(lazy_bind_error_declaration_file(NULL) == NULL);
  CHECK(lazy_bind_error_declaration_line(NULL) == 0);
  CHECK(lazy_bind_error_access_file(NULL) == NULL);
  CHECK(lazy_bind_error_access_line(NULL) == 0);
  CHECK(lazy_bind_error_chain_len(NULL) == 0);
  CHECK(lazy_bind_error_chain_name(NULL, 0) == NULL);
  CHECK(lazy_bind_error_chain_file(NULL, 0) == NULL);
  CHECK(lazy_bind_error_chain_line(NULL, 0) == 0);
  CHECK(lazy_bind_error_chain_thread(NULL, 0) == 0);
  CHECK(lazy_bind_error_resolver_status(NULL) == 0);
  CHECK(lazy_bind_error_runtime_value(NULL) == NULL);
  CHECK(lazy_bind_error_list_len(NULL) == 0);
  CHECK(lazy_bind_error_list_get(NULL, 0) == NULL);

  /* Out-of-range arguments. */
  lazy_bind_engine *other = NULL;
  CHECK_STATUS(lazy_bind_engine_new(NULL, 0x80, &other), LAZY_BIND_INVALID_ARGUMENT);
  CHECK(other == NULL);
  lazy_bind_runtime_hooks hooks;
  memset(&hooks, 0, sizeof hooks);
  hooks.size = sizeof(size_t); /* older than the first version */
  CHECK_STATUS(lazy_bind_engine_new(&hooks, 0, &other), LAZY_BIND_INVALID_ARGUMENT);
  CHECK(other == NULL);
  lazy_bind_counters counters;
  memset(&counters, 0, sizeof counters);
  CHECK_STATUS(lazy_bind_engine_counters(engine, &counters), LAZY_BIND_INVALID_ARGUMENT);
  /* A runtime built against an older, shorter counters struct. */
  counters.size = sizeof(size_t) + sizeof(uint64_t);
  counters.resolved = 12345;
  CHECK_OK(lazy_bind_engine_counters(engine, &counters));
  CHECK(counters.deferred == 1);
  CHECK(counters.resolved == 12345); /* beyond its size: untouched */
  const char bad_utf8[] = {(char)0xff, (char)0xfe, 0};
  CHECK_STATUS(lazy_bind_entry_create(engine, bad_utf8, NULL, 0, resolve_self, &object, NULL,
                                      &h),
               LAZY_BIND_INVALID_UTF8);
  CHECK_STATUS(lazy_bind_resolve(engine, h, bad_utf8, 1, &value, &error),
               LAZY_BIND_INVALID_UTF8);
  CHECK(error == NULL);

  /* Stale handles: discarded, fabricated, zero, and from another engine. */
  CHECK_OK(lazy_bind_engine_slot(engine, h, &slot));
  CHECK_OK(lazy_bind_resolve(engine, h, NULL, 0, &value, NULL));
  CHECK(lazy_bind_get_fast(slot, h.stamp) == &object);
  CHECK_OK(lazy_bind_entry_discard(engine, h));
  CHECK(lazy_bind_get_fast(slot, h.stamp) == NULL); /* the slot address stays valid */
  CHECK_STATUS(lazy_bind_entry_discard(engine, h), LAZY_BIND_STALE_HANDLE);
  value = &object;
  CHECK_STATUS(lazy_bind_resolve(engine, h, "misuse.c", 1, &value, &error),
               LAZY_BIND_STALE_HANDLE);
  CHECK(value == &object);
  CHECK(lazy_bind_error_kind(error) == LAZY_BIND_STALE_HANDLE);
  CHECK(lazy_bind_error_declaration_name(error) == NULL);
  lazy_bind_error_free(&error);
  CHECK_STATUS(lazy_bind_peek(engine, h, &state, NULL, NULL, NULL), LAZY_BIND_STALE_HANDLE);
  CHECK(state == LAZY_BIND_STATE_FAILED); /* untouched */
  CHECK_STATUS(lazy_bind_entry_provide(engine, h, &object, NULL), LAZY_BIND_STALE_HANDLE);
  const lazy_bind_slot *unchanged = slot;
  CHECK_STATUS(lazy_bind_engine_slot(engine, h, &slot), LAZY_BIND_STALE_HANDLE);
  CHECK(slot == unchanged);

  /* A discarded resolved value may still be borrowed: its slot is reused
   * only after lazy_bind_engine_reclaim. The old stamp never matches the
   * new entry, on the fast path or the slow one. */
  lazy_bind_handle fresh;
  static int newest = 9;
  CHECK_OK(lazy_bind_entry_create_resolved(engine, "y", NULL, 0, &newest, &fresh));
  CHECK(fresh.index != h.index);
  size_t freed = 0;
  CHECK_STATUS(lazy_bind_engine_reclaim(NULL, &freed), LAZY_BIND_NULL_ARGUMENT);
  CHECK_OK(lazy_bind_engine_reclaim(engine, &freed));
  CHECK(freed == 1);
  lazy_bind_handle reused;
  static int newer = 8;
  CHECK_OK(lazy_bind_entry_create_resolved(engine, "z", NULL, 0, &newer, &reused));
  CHECK(reused.index == h.index);
  CHECK(lazy_bind_get_fast(unchanged, reused.stamp) == &newer);
  CHECK(lazy_bind_get_fast(unchanged, h.stamp) == NULL);
  CHECK_STATUS(lazy_bind_resolve(engine, h, NULL, 0, &value, NULL), LAZY_BIND_STALE_HANDLE);

  lazy_bind_handle fabricated = {h.stamp + 1000, 4000000000u};
  CHECK_STATUS(lazy_bind_resolve(engine, fabricated, NULL, 0, &value, NULL),
               LAZY_BIND_STALE_HANDLE);
  CHECK_STATUS(lazy_bind_engine_slot(engine, fabricated, &slot), LAZY_BIND_STALE_HANDLE);
  lazy_bind_handle zero = {0, 0};
  CHECK_STATUS(lazy_bind_resolve(engine, zero, NULL, 0, &value, NULL), LAZY_BIND_STALE_HANDLE);
  CHECK_STATUS(lazy_bind_entry_discard(engine, zero), LAZY_BIND_STALE_HANDLE);

  CHECK_OK(lazy_bind_engine_new(NULL, 0, &other));
  lazy_bind_handle foreign;
  CHECK_OK(lazy_bind_entry_create_resolved(other, "y", NULL, 0, &object, &foreign));
  CHECK_STATUS(lazy_bind_resolve(engine, foreign, NULL, 0, &value, NULL),
               LAZY_BIND_STALE_HANDLE);

  /* Double free through the same variable is harmless; so is freeing NULL. */
  lazy_bind_engine_free(&other);
  lazy_bind_engine_free(&other);
  lazy_bind_engine_free(NULL);
  lazy_bind_error_free(&error);
  lazy_bind_error_free(NULL);
  lazy_bind_error_list *list = NULL;
  CHECK_OK(lazy_bind_resolve_all_pending(engine, &failures, &list));
  CHECK(failures == 0);
  CHECK(lazy_bind_error_list_len(list) == 0);
  lazy_bind_error_list_free(&list);
  lazy_bind_error_list_free(&list);
  lazy_bind_error_list_free(NULL);

  /* Every status has a message; unknown numbers too. */
  CHECK_STR(lazy_bind_result_message(LAZY_BIND_OK), "success");
  CHECK_STR(lazy_bind_result_message(LAZY_BIND_STALE_HANDLE),
            "the handle names no live entry of this engine");
  CHECK_STR(lazy_bind_result_message(9999), "unknown lazy_bind status");

  lazy_bind_engine_free(&engine);
  lazy_bind_engine_free(&engine);
  CHECK(drops == 1);
  printf("misuse: ok\n");
  return 0;
}
