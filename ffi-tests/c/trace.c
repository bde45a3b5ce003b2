/* Tracing from C: a recorder attached to an engine, policy decisions, the
 * bounded buffer, the -X importtime and never-resolved reports, and a Chrome
 * trace file written to the directory given as argv[1] (the Rust driver
 * parses it back). */
#include "check.h"

static test_object json = {"json", 1};

static uint32_t resolve_json(void *userdata, const lazy_bind_engine *engine,
                             lazy_bind_handle handle, void **value_out,
                             void **runtime_error_out) {
  (void)userdata, (void)engine, (void)handle, (void)runtime_error_out;
  *value_out = test_new_ref(&json);
  return LAZY_BIND_OK;
}

static size_t event_count(const lazy_bind_recorder *recorder) {
  size_t count = 0;
  CHECK_OK(lazy_bind_recorder_event_count(recorder, &count));
  return count;
}

static void check_contains(const char *text, const char *part) {
  if (strstr(text, part) == NULL) {
    fprintf(stderr, "report lacks \"%s\":\n%s\n", part, text);
    exit(1);
  }
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  test_runtime runtime = {0, 0, 0, 0};
  lazy_bind_runtime_hooks hooks = test_hooks(&runtime);
  lazy_bind_engine *engine = NULL;
  CHECK_OK(lazy_bind_engine_new(&hooks, 0, &engine));
  lazy_bind_recorder *recorder = NULL;
  CHECK_OK(lazy_bind_recorder_new(100, &recorder));
  CHECK(event_count(recorder) == 0);
  CHECK_OK(lazy_bind_engine_set_recorder(engine, recorder));

  /* Two deferrals, one resolution (start and end), one policy decision. */
  lazy_bind_handle h_json, h_csv;
  CHECK_OK(lazy_bind_entry_create(engine, "json", "app.py", 1, resolve_json, NULL, NULL,
                                  &h_json));
  CHECK_OK(lazy_bind_entry_create(engine, "csv", "app.py", 2, resolve_json, NULL, NULL,
                                  &h_csv));
  void *value = NULL;
  CHECK_OK(lazy_bind_resolve(engine, h_json, "app.py", 9, &value, NULL));
  CHECK_OK(lazy_bind_recorder_record_policy_decision(recorder, "app", "numpy", true,
                                                     "mode all"));
  CHECK(event_count(recorder) == 5);
  uint64_t dropped = 99;
  CHECK_OK(lazy_bind_recorder_dropped(recorder, &dropped));
  CHECK(dropped == 0);

  char *report = NULL;
  CHECK_OK(lazy_bind_importtime_report(recorder, engine, &report));
  check_contains(report, "import time: self [us] | cumulative | imported package\n");
  check_contains(report, "| json (lazy, declared at app.py:1, forced at app.py:9)\n");
  check_contains(report, "lazy entries never resolved: 1\n  csv (declared at app.py:2)\n");
  lazy_bind_string_free(&report);
  CHECK(report == NULL);

  CHECK_OK(lazy_bind_never_resolved_report(engine, &report));
  CHECK_STR(report, "csv (declared at app.py:2)\n");
  lazy_bind_string_free(&report);
  CHECK_OK(lazy_bind_resolve(engine, h_csv, NULL, 0, &value, NULL));
  CHECK_OK(lazy_bind_never_resolved_report(engine, &report));
  CHECK_STR(report, "");
  lazy_bind_string_free(&report);

  char path[4096];
  CHECK(snprintf(path, sizeof path, "%s/trace.json", argv[1]) < (int)sizeof path);
  CHECK_OK(lazy_bind_write_chrome_trace(recorder, path));
  CHECK_STATUS(lazy_bind_write_chrome_trace(recorder, "/nonexistent/lazy_bind/trace.json"),
               LAZY_BIND_IO);

  /* Detached: nothing more is recorded. */
  size_t before = event_count(recorder);
  CHECK_OK(lazy_bind_engine_set_recorder(engine, NULL));
  lazy_bind_handle h_os;
  CHECK_OK(lazy_bind_entry_create(engine, "os", "app.py", 3, resolve_json, NULL, NULL, &h_os));
  CHECK(event_count(recorder) == before);

  /* The engine keeps its own reference: freeing ours does not stop it. */
  CHECK_OK(lazy_bind_engine_set_recorder(engine, recorder));
  lazy_bind_recorder_free(&recorder);
  CHECK(recorder == NULL);
  lazy_bind_recorder_free(&recorder); /* harmless twice */
  lazy_bind_recorder_free(NULL);
  CHECK_OK(lazy_bind_resolve(engine, h_os, "app.py", 10, &value, NULL));

  /* A full recorder counts what it drops. */
  lazy_bind_recorder *small = NULL;
  CHECK_OK(lazy_bind_recorder_new(2, &small));
  for (int i = 0; i < 5; i++) {
    CHECK_OK(lazy_bind_recorder_record_policy_decision(small, "app", "os", false,
                                                       "not marked lazy"));
  }
  CHECK(event_count(small) == 2);
  CHECK_OK(lazy_bind_recorder_dropped(small, &dropped));
  CHECK(dropped == 3);

  /* Misuse is a status. */
  CHECK_STATUS(lazy_bind_recorder_new(1, NULL), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_engine_set_recorder(NULL, small), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_recorder_record_policy_decision(small, "app", NULL, true, "x"),
               LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_recorder_record_policy_decision(small, "app", "os", true, "\xff"),
               LAZY_BIND_INVALID_UTF8);
  CHECK_STATUS(lazy_bind_recorder_dropped(small, NULL), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_recorder_event_count(NULL, &before), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_importtime_report(small, NULL, &report), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_never_resolved_report(engine, NULL), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_write_chrome_trace(small, NULL), LAZY_BIND_NULL_ARGUMENT);
  CHECK(report == NULL);
  lazy_bind_recorder_free(&small);

  lazy_bind_engine_free(&engine);
  CHECK(test_refs(&json) == 1);
  printf("trace: ok\n");
  return 0;
}
