/* The whole lifecycle of an engine and its entries, through the C ABI. */
#define _POSIX_C_SOURCE 200809L
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static test_object json = {"json", 1};
static test_object os = {"os", 1};
static test_object sys = {"sys", 1};
static test_object provided = {"provided", 1};

static int resolver_calls;
static int userdata_drops;

/* Resolves to the object passed as userdata. */
static uint32_t resolve_to(void *userdata, const lazy_bind_engine *engine,
                           lazy_bind_handle handle, void **value_out,
                           void **runtime_error_out) {
  (void)runtime_error_out;
  CHECK(engine != NULL);
  CHECK(handle.stamp != 0);
  resolver_calls++;
  *value_out = test_new_ref((test_object *)userdata);
  return LAZY_BIND_OK;
}

static uint32_t always_fail(void *userdata, const lazy_bind_engine *engine,
                            lazy_bind_handle handle, void **value_out,
                            void **runtime_error_out) {
  (void)userdata, (void)engine, (void)handle, (void)value_out, (void)runtime_error_out;
  return LAZY_BIND_RESOLVER_FAILED;
}

static void drop_userdata(void *userdata) {
  CHECK(userdata != NULL);
  userdata_drops++;
}

int main(void) {
  test_runtime runtime = {0, 0, 0, 0};
  lazy_bind_runtime_hooks hooks = test_hooks(&runtime);
  lazy_bind_engine *engine = NULL;
  CHECK_OK(lazy_bind_engine_new(&hooks, 0, &engine));
  CHECK(engine != NULL);

  /* A deferred entry: nothing runs until the first access. */
  lazy_bind_handle h_json;
  CHECK_OK(lazy_bind_entry_create(engine, "json", "main.py", 3, resolve_to, &json,
                                  drop_userdata, &h_json));
  CHECK(resolver_calls == 0);
  lazy_bind_state state;
  CHECK_OK(lazy_bind_peek(engine, h_json, &state, NULL, NULL, NULL));
  CHECK(state == LAZY_BIND_STATE_PENDING);

  /* The fast path misses until the entry is resolved. */
  const lazy_bind_slot *slot = NULL;
  CHECK_OK(lazy_bind_engine_slot(engine, h_json, &slot));
  CHECK(slot != NULL);
  CHECK(lazy_bind_get_fast(slot, h_json.stamp) == NULL);

  void *value = NULL;
  CHECK_OK(lazy_bind_resolve(engine, h_json, "main.py", 10, &value, NULL));
  CHECK(value == &json);
  CHECK(resolver_calls == 1);
  CHECK(userdata_drops == 1); /* the resolver is dropped once resolved */
  CHECK(lazy_bind_get_fast(slot, h_json.stamp) == &json);
  CHECK(lazy_bind_get_fast(slot, h_json.stamp + 1) == NULL); /* wrong stamp */
  value = NULL;
  CHECK_OK(lazy_bind_resolve(engine, h_json, NULL, 0, &value, NULL));
  CHECK(value == &json);
  CHECK(resolver_calls == 1); /* exactly once */

  void *peeked = NULL;
  CHECK_OK(lazy_bind_peek(engine, h_json, &state, &peeked, NULL, NULL));
  CHECK(state == LAZY_BIND_STATE_RESOLVED);
  CHECK(peeked == &json);

  /* An entry created resolved takes its own reference (retain). */
  lazy_bind_handle h_os;
  CHECK_OK(lazy_bind_entry_create_resolved(engine, "os", "main.py", 4, &os, &h_os));
  CHECK(test_refs(&os) == 2);
  CHECK(runtime.retains == 1);
  CHECK_OK(lazy_bind_resolve(engine, h_os, "main.py", 11, &value, NULL));
  CHECK(value == &os);

  /* provide: taken by a pending entry, refused (and released) by a resolved one. */
  lazy_bind_handle h_sys;
  CHECK_OK(lazy_bind_entry_create(engine, "sys", NULL, 0, resolve_to, &sys, drop_userdata,
                                  &h_sys));
  bool taken = false;
  CHECK_OK(lazy_bind_entry_provide(engine, h_sys, &provided, &taken));
  CHECK(taken);
  CHECK(userdata_drops == 2);
  CHECK_OK(lazy_bind_resolve(engine, h_sys, NULL, 0, &value, NULL));
  CHECK(value == &provided);
  CHECK_OK(lazy_bind_entry_provide(engine, h_sys, &sys, &taken));
  CHECK(!taken);
  CHECK(test_refs(&sys) == 1); /* retained, then released when refused */

  lazy_bind_counters counters;
  memset(&counters, 0, sizeof counters);
  counters.size = sizeof counters;
  CHECK_OK(lazy_bind_engine_counters(engine, &counters));
  CHECK(counters.size == sizeof counters);
  CHECK(counters.deferred == 2);
  CHECK(counters.resolved == 2);
  CHECK(counters.failed == 0);
  CHECK(counters.pending == 0);

  /* Discard: the handle goes stale; the value stays readable until free. */
  CHECK_OK(lazy_bind_entry_discard(engine, h_json));
  lazy_bind_error *error = NULL;
  CHECK_STATUS(lazy_bind_resolve(engine, h_json, "main.py", 12, &value, &error),
               LAZY_BIND_STALE_HANDLE);
  CHECK(lazy_bind_error_kind(error) == LAZY_BIND_STALE_HANDLE);
  CHECK_STR(lazy_bind_error_access_file(error), "main.py");
  CHECK(lazy_bind_error_access_line(error) == 12);
  lazy_bind_error_free(&error);
  CHECK(error == NULL);
  CHECK(lazy_bind_get_fast(slot, h_json.stamp) == NULL);

  /* The phase switch: resolve everything pending, report every failure. */
  lazy_bind_handle h_bad, h_good;
  CHECK_OK(lazy_bind_entry_create(engine, "bad", "main.py", 5, always_fail, &json,
                                  drop_userdata, &h_bad));
  CHECK_OK(lazy_bind_entry_create(engine, "good", "main.py", 6, resolve_to, &json,
                                  drop_userdata, &h_good));
  size_t failures = 99;
  lazy_bind_error_list *list = NULL;
  CHECK_OK(lazy_bind_resolve_all_pending(engine, &failures, &list));
  CHECK(failures == 1);
  CHECK(lazy_bind_error_list_len(list) == 1);
  const lazy_bind_error *first = lazy_bind_error_list_get(list, 0);
  CHECK(lazy_bind_error_kind(first) == LAZY_BIND_RESOLVER_FAILED);
  CHECK_STR(lazy_bind_error_declaration_name(first), "bad");
  CHECK(lazy_bind_error_list_get(list, 1) == NULL);
  lazy_bind_error_list_free(&list);
  CHECK(list == NULL);
  CHECK(lazy_bind_get_fast(slot, h_json.stamp) == NULL);

  /* After fork, the child resets and can still resolve. */
  lazy_bind_handle h_child;
  CHECK_OK(lazy_bind_entry_create(engine, "child", "main.py", 7, resolve_to, &sys,
                                  drop_userdata, &h_child));
  fflush(NULL);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    lazy_bind_fork_report report = {99, 99, true};
    if (lazy_bind_after_fork_child(engine, &report) != LAZY_BIND_OK) _exit(2);
    if (report.reset != 0 || report.lost != 0 || report.allocation_lost) _exit(3);
    void *child_value = NULL;
    if (lazy_bind_resolve(engine, h_child, NULL, 0, &child_value, NULL) != LAZY_BIND_OK)
      _exit(4);
    _exit(child_value == &sys ? 0 : 5);
  }
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  CHECK(lazy_bind_thread_key() != 0);
  CHECK(lazy_bind_thread_key() == lazy_bind_thread_key());

  /* Freeing releases every reference and drops every resolver. */
  lazy_bind_engine_free(&engine);
  CHECK(engine == NULL);
  lazy_bind_engine_free(&engine); /* harmless: the variable is NULL now */
  CHECK(test_refs(&json) == 1);
  CHECK(test_refs(&os) == 1);
  CHECK(test_refs(&sys) == 1);
  CHECK(test_refs(&provided) == 1);
  /* Released: every retained reference plus the two that resolvers handed over. */
  CHECK(runtime.releases == runtime.retains + 2);
  CHECK(userdata_drops == 5);
  printf("lifecycle: ok\n");
  return 0;
}
