/* The import policy from C: parsing (and its errors with line and column),
 * deciding and explaining with context flags and a fromlist, the filter
 * callback from several threads, eager scopes, the environment variable and
 * the phase switch over an engine. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "check.h"

#define THREADS 4
#define DECISIONS 200

/* What the filter saw, updated atomically (it runs on every thread). */
typedef struct filter_log {
  int calls;
  int fromlist_calls;
} filter_log;

/* Vetoes laziness for the target "vetoed"; checks the fromlist it gets. */
static bool veto_filter(void *userdata, const char *importer, const char *target,
                        const char *const *fromlist, size_t fromlist_len) {
  filter_log *log = (filter_log *)userdata;
  __atomic_fetch_add(&log->calls, 1, __ATOMIC_RELAXED);
  CHECK(importer != NULL && target != NULL);
  if (fromlist_len == 0) {
    CHECK(fromlist == NULL);
  } else {
    CHECK(fromlist_len == 2);
    CHECK_STR(fromlist[0], "loads");
    CHECK_STR(fromlist[1], "dumps");
    __atomic_fetch_add(&log->fromlist_calls, 1, __ATOMIC_RELAXED);
  }
  return strcmp(target, "vetoed") != 0;
}

static bool decide(const lazy_bind_policy *policy, const char *importer, const char *target,
                   uint32_t flags) {
  bool defer = false;
  CHECK_OK(lazy_bind_policy_decide(policy, importer, target, NULL, 0, flags, &defer));
  return defer;
}

/* Checks the explanation's decision and that its text contains `phrase`. */
static void check_explain(const lazy_bind_policy *policy, const char *target, uint32_t flags,
                          bool expect_defer, const char *phrase) {
  bool defer = !expect_defer;
  char *explanation = NULL;
  CHECK_OK(lazy_bind_policy_explain(policy, "app", target, NULL, 0, flags, &defer,
                                    &explanation));
  CHECK(defer == expect_defer);
  CHECK(explanation != NULL);
  if (strstr(explanation, phrase) == NULL) {
    fprintf(stderr, "explanation \"%s\" lacks \"%s\"\n", explanation, phrase);
    exit(1);
  }
  lazy_bind_string_free(&explanation);
  CHECK(explanation == NULL);
}

static void *decide_many(void *policy) {
  for (int i = 0; i < DECISIONS; i++) {
    CHECK(decide((const lazy_bind_policy *)policy, "app", "numpy", 0));
    CHECK(!decide((const lazy_bind_policy *)policy, "app", "vetoed", 0));
  }
  return NULL;
}

static test_object json = {"json", 1};

static uint32_t resolve_json(void *userdata, const lazy_bind_engine *engine,
                             lazy_bind_handle handle, void **value_out,
                             void **runtime_error_out) {
  (void)userdata, (void)engine, (void)handle, (void)runtime_error_out;
  *value_out = test_new_ref(&json);
  return LAZY_BIND_OK;
}

static uint32_t resolve_fail(void *userdata, const lazy_bind_engine *engine,
                             lazy_bind_handle handle, void **value_out,
                             void **runtime_error_out) {
  (void)userdata, (void)engine, (void)handle, (void)value_out, (void)runtime_error_out;
  return LAZY_BIND_RESOLVER_FAILED;
}

static void parsing(void) {
  lazy_bind_policy *policy = NULL;
  char *message = NULL;
  CHECK_OK(lazy_bind_policy_parse("mode all\neager-target torch.*\nlazy-target numpy\n",
                                  &policy, &message));
  CHECK(policy != NULL && message == NULL);
  uint32_t mode = 99;
  CHECK_OK(lazy_bind_policy_mode(policy, &mode));
  CHECK(mode == LAZY_BIND_MODE_ALL);

  /* A typo in a rule: the message names line 2, column 1 and the token. */
  lazy_bind_policy *untouched = (lazy_bind_policy *)&untouched;
  CHECK_STATUS(lazy_bind_policy_parse("mode all\neagr-target torch\n", &untouched, &message),
               LAZY_BIND_POLICY_SYNTAX);
  CHECK(untouched == (lazy_bind_policy *)&untouched);
  CHECK(message != NULL);
  CHECK(strstr(message, "line 2, column 1") != NULL);
  CHECK(strstr(message, "eagr-target") != NULL);
  lazy_bind_string_free(&message);
  CHECK(message == NULL);
  lazy_bind_string_free(&message); /* harmless twice */

  /* An unknown mode: the same status, the column of the mode word. */
  CHECK_STATUS(lazy_bind_policy_parse("mode sometimes", &untouched, &message),
               LAZY_BIND_POLICY_SYNTAX);
  CHECK(strstr(message, "line 1, column 6") != NULL);
  CHECK(strstr(message, "sometimes") != NULL);
  lazy_bind_string_free(&message);
  /* The message is optional. */
  CHECK_STATUS(lazy_bind_policy_parse("mode sometimes", &untouched, NULL),
               LAZY_BIND_POLICY_SYNTAX);
  CHECK_STATUS(lazy_bind_policy_parse(NULL, &untouched, NULL), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_policy_parse("mode all", NULL, NULL), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_policy_parse("\xff", &untouched, NULL), LAZY_BIND_INVALID_UTF8);
  CHECK(untouched == (lazy_bind_policy *)&untouched);

  lazy_bind_policy_free(&policy);
  CHECK(policy == NULL);
  lazy_bind_policy_free(&policy); /* harmless twice */
  lazy_bind_policy_free(NULL);
}

static void deciding(void) {
  lazy_bind_policy *policy = NULL;
  CHECK_OK(lazy_bind_policy_parse("mode all; eager-target torch.*", &policy, NULL));
  CHECK(decide(policy, "app", "numpy", 0));
  CHECK(!decide(policy, "app", "torch.nn", 0));
  /* Contexts that are never lazy. */
  const uint32_t never[] = {LAZY_BIND_CONTEXT_NOT_MODULE_LEVEL, LAZY_BIND_CONTEXT_IN_TRY,
                            LAZY_BIND_CONTEXT_IN_WITH,          LAZY_BIND_CONTEXT_IN_LOOP,
                            LAZY_BIND_CONTEXT_STAR,             LAZY_BIND_CONTEXT_FUTURE};
  for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
    CHECK(!decide(policy, "app", "numpy", never[i]));
  }
  check_explain(policy, "torch.nn", 0, false, "target opt-out rule 'eager-target torch.*'");
  check_explain(policy, "numpy", LAZY_BIND_CONTEXT_IN_TRY, false, "try/except/finally");
  check_explain(policy, "numpy", 0, true, "mode all");

  /* Built-in rules added under the policy in force: the mode stays; a
   * mode statement or bad text is refused and changes nothing. */
  CHECK(decide(policy, "app", "pandas.core", 0));
  CHECK_OK(lazy_bind_policy_add_rules(policy, "eager-target pandas.*; eager-target torch.*",
                                      NULL));
  CHECK(!decide(policy, "app", "pandas.core", 0));
  CHECK(decide(policy, "app", "numpy", 0));
  check_explain(policy, "pandas.core", 0, false, "'eager-target pandas.*'");
  char *rules_error = NULL;
  CHECK_STATUS(lazy_bind_policy_add_rules(policy, "eager-target scipy\nmode none", &rules_error),
               LAZY_BIND_POLICY_SYNTAX);
  CHECK(rules_error != NULL && strstr(rules_error, "line 2, column 1") != NULL);
  lazy_bind_string_free(&rules_error);
  CHECK(decide(policy, "app", "scipy", 0));
  CHECK_STATUS(lazy_bind_policy_add_rules(policy, NULL, NULL), LAZY_BIND_NULL_ARGUMENT);

  /* Mode normal: only imports marked lazy are deferred. */
  CHECK_OK(lazy_bind_policy_set_mode(policy, LAZY_BIND_MODE_NORMAL));
  uint32_t mode = 99;
  CHECK_OK(lazy_bind_policy_mode(policy, &mode));
  CHECK(mode == LAZY_BIND_MODE_NORMAL);
  CHECK(!decide(policy, "app", "numpy", 0));
  CHECK(decide(policy, "app", "numpy", LAZY_BIND_CONTEXT_MARKED_LAZY));
  CHECK_STATUS(lazy_bind_policy_set_mode(policy, 3), LAZY_BIND_INVALID_ARGUMENT);
  CHECK_OK(lazy_bind_policy_mode(policy, &mode));
  CHECK(mode == LAZY_BIND_MODE_NORMAL);

  /* Bad arguments are statuses; the out-parameter stays untouched. */
  bool defer = true;
  CHECK_STATUS(lazy_bind_policy_decide(policy, "app", "numpy", NULL, 0, 128, &defer),
               LAZY_BIND_INVALID_ARGUMENT);
  CHECK_STATUS(lazy_bind_policy_decide(policy, NULL, "numpy", NULL, 0, 0, &defer),
               LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_policy_decide(policy, "app", "numpy", NULL, 1, 0, &defer),
               LAZY_BIND_NULL_ARGUMENT);
  const char *with_null[] = {"loads", NULL};
  CHECK_STATUS(lazy_bind_policy_decide(policy, "app", "json", with_null, 2, 0, &defer),
               LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_policy_decide(NULL, "app", "numpy", NULL, 0, 0, &defer),
               LAZY_BIND_NULL_ARGUMENT);
  CHECK(defer == true);
  lazy_bind_policy_free(&policy);
}

static void filtering(void) {
  lazy_bind_policy *policy = NULL;
  CHECK_OK(lazy_bind_policy_parse("mode all; lazy-target shielded", &policy, NULL));
  filter_log log = {0, 0};
  CHECK_OK(lazy_bind_policy_set_filter(policy, veto_filter, &log));

  const char *names[] = {"loads", "dumps"};
  bool defer = false;
  CHECK_OK(lazy_bind_policy_decide(policy, "app", "json", names, 2, 0, &defer));
  CHECK(defer);
  CHECK(log.fromlist_calls == 1);
  check_explain(policy, "vetoed", 0, false, "filter callback returned false");
  /* A rule decides before the filter: it is not called. */
  int before = log.calls;
  CHECK(decide(policy, "app", "shielded", 0));
  CHECK(log.calls == before);

  /* From several threads at once. */
  pthread_t threads[THREADS];
  before = log.calls;
  for (int i = 0; i < THREADS; i++) {
    CHECK(pthread_create(&threads[i], NULL, decide_many, policy) == 0);
  }
  for (int i = 0; i < THREADS; i++) {
    CHECK(pthread_join(threads[i], NULL) == 0);
  }
  CHECK(__atomic_load_n(&log.calls, __ATOMIC_RELAXED) - before == THREADS * DECISIONS * 2);

  /* Never called in mode none; removed with NULL. */
  CHECK_OK(lazy_bind_policy_set_mode(policy, LAZY_BIND_MODE_NONE));
  before = log.calls;
  CHECK(!decide(policy, "app", "numpy", 0));
  CHECK(log.calls == before);
  CHECK_OK(lazy_bind_policy_set_mode(policy, LAZY_BIND_MODE_ALL));
  CHECK_OK(lazy_bind_policy_set_filter(policy, NULL, NULL));
  CHECK(decide(policy, "app", "vetoed", 0));
  CHECK(log.calls == before);
  CHECK_STATUS(lazy_bind_policy_set_filter(NULL, veto_filter, &log), LAZY_BIND_NULL_ARGUMENT);
  lazy_bind_policy_free(&policy);
}

static void *leave_elsewhere(void *unused) {
  (void)unused;
  /* The scope of the main thread is not this thread's. */
  CHECK_STATUS(lazy_bind_eager_scope_leave(), LAZY_BIND_INVALID_ARGUMENT);
  return NULL;
}

static void scopes(void) {
  lazy_bind_policy *policy = NULL;
  CHECK_OK(lazy_bind_policy_parse("mode all", &policy, NULL));
  CHECK_STATUS(lazy_bind_eager_scope_leave(), LAZY_BIND_INVALID_ARGUMENT);
  CHECK_OK(lazy_bind_eager_scope_enter());
  CHECK_OK(lazy_bind_eager_scope_enter());
  CHECK(!decide(policy, "app", "numpy", 0));
  check_explain(policy, "numpy", 0, false, "eager scope");
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, leave_elsewhere, NULL) == 0);
  CHECK(pthread_join(thread, NULL) == 0);
  CHECK_OK(lazy_bind_eager_scope_leave());
  CHECK(!decide(policy, "app", "numpy", 0)); /* still inside the outer one */
  CHECK_OK(lazy_bind_eager_scope_leave());
  CHECK(decide(policy, "app", "numpy", 0));
  CHECK_STATUS(lazy_bind_eager_scope_leave(), LAZY_BIND_INVALID_ARGUMENT);
  lazy_bind_policy_free(&policy);
}

static void builtin_rules(void) {
  /* The table: every rule has a reason; some only matter where `from`
   * imports are deferred. */
  size_t count = 0, from_only = 0;
  const char *rule = NULL, *reason = NULL;
  bool lazy_from_only = false;
  while (lazy_bind_builtin_rule(count, &rule, &reason, &lazy_from_only) == LAZY_BIND_OK) {
    CHECK(strncmp(rule, "eager-", 6) == 0 && strlen(reason) > 40);
    from_only += lazy_from_only;
    count++;
  }
  CHECK(count > from_only && from_only > 0);
  CHECK_STATUS(lazy_bind_builtin_rule(count, &rule, NULL, NULL), LAZY_BIND_INVALID_ARGUMENT);
  CHECK_OK(lazy_bind_builtin_rule(0, NULL, NULL, NULL));

  for (int lazy_from = 0; lazy_from < 2; lazy_from++) {
    lazy_bind_policy *policy = NULL;
    CHECK_OK(lazy_bind_policy_parse("mode all", &policy, NULL));
    CHECK_OK(lazy_bind_policy_add_builtin_rules(policy,
                                                lazy_from ? LAZY_BIND_BUILTIN_LAZY_FROM : 0));
    CHECK(decide(policy, "app", "torch", 0));
    CHECK(!decide(policy, "torch.nn", "torch.nn.modules", 0));
    CHECK(decide(policy, "sympy.core", "sympy.core.numbers", 0) == !lazy_from);
    CHECK_STATUS(lazy_bind_policy_add_builtin_rules(policy, 2), LAZY_BIND_INVALID_ARGUMENT);
    lazy_bind_policy_free(&policy);
  }
  CHECK_STATUS(lazy_bind_policy_add_builtin_rules(NULL, 0), LAZY_BIND_NULL_ARGUMENT);
}

static void environment(void) {
  lazy_bind_policy *policy = NULL;
  bool was_set = true;
  char *message = NULL;
  CHECK(unsetenv("LAZY_BIND_POLICY") == 0);
  CHECK_OK(lazy_bind_policy_from_env(&policy, &was_set, &message));
  CHECK(!was_set && message == NULL);
  uint32_t mode = 99;
  CHECK_OK(lazy_bind_policy_mode(policy, &mode));
  CHECK(mode == LAZY_BIND_MODE_NORMAL);
  lazy_bind_policy_free(&policy);

  CHECK(setenv("LAZY_BIND_POLICY", "mode all; eager-target torch.*", 1) == 0);
  CHECK_OK(lazy_bind_policy_from_env(&policy, &was_set, NULL));
  CHECK(was_set);
  CHECK(decide(policy, "app", "numpy", 0));
  CHECK(!decide(policy, "app", "torch", 0));
  lazy_bind_policy_free(&policy);
  CHECK_OK(lazy_bind_policy_from_env(&policy, NULL, NULL)); /* was_set is optional */
  lazy_bind_policy_free(&policy);

  CHECK(setenv("LAZY_BIND_POLICY", "@/nonexistent/lazy_bind/policy.txt", 1) == 0);
  CHECK_STATUS(lazy_bind_policy_from_env(&policy, &was_set, &message), LAZY_BIND_IO);
  CHECK(policy == NULL);
  CHECK(strstr(message, "/nonexistent/lazy_bind/policy.txt") != NULL);
  lazy_bind_string_free(&message);

  CHECK(setenv("LAZY_BIND_POLICY", "mode all; lazy-targt numpy", 1) == 0);
  CHECK_STATUS(lazy_bind_policy_from_env(&policy, &was_set, &message),
               LAZY_BIND_POLICY_SYNTAX);
  CHECK(strstr(message, "LAZY_BIND_POLICY") != NULL);
  CHECK(strstr(message, "line 1, column 11") != NULL);
  lazy_bind_string_free(&message);
  CHECK(unsetenv("LAZY_BIND_POLICY") == 0);
}

static void phase_switch(void) {
  test_runtime runtime = {0, 0, 0, 0};
  lazy_bind_runtime_hooks hooks = test_hooks(&runtime);
  lazy_bind_engine *engine = NULL;
  CHECK_OK(lazy_bind_engine_new(&hooks, 0, &engine));
  lazy_bind_handle h_json, h_gone;
  CHECK_OK(lazy_bind_entry_create(engine, "json", "app.py", 1, resolve_json, NULL, NULL,
                                  &h_json));
  CHECK_OK(lazy_bind_entry_create(engine, "gone", "app.py", 2, resolve_fail, NULL, NULL,
                                  &h_gone));
  lazy_bind_policy *policy = NULL;
  CHECK_OK(lazy_bind_policy_parse("mode all", &policy, NULL));

  size_t failures = 99;
  lazy_bind_error_list *list = NULL;
  CHECK_OK(lazy_bind_policy_disable(policy, engine, &failures, &list));
  CHECK(failures == 1);
  CHECK(lazy_bind_error_list_len(list) == 1);
  const lazy_bind_error *error = lazy_bind_error_list_get(list, 0);
  CHECK(lazy_bind_error_kind(error) == LAZY_BIND_RESOLVER_FAILED);
  CHECK_STR(lazy_bind_error_declaration_name(error), "gone");
  lazy_bind_error_list_free(&list);
  uint32_t mode = 99;
  CHECK_OK(lazy_bind_policy_mode(policy, &mode));
  CHECK(mode == LAZY_BIND_MODE_NONE);
  CHECK(!decide(policy, "app", "numpy", LAZY_BIND_CONTEXT_MARKED_LAZY));
  void *value = NULL;
  CHECK(lazy_bind_peek(engine, h_json, NULL, NULL, NULL, NULL) == LAZY_BIND_NULL_ARGUMENT);
  lazy_bind_state state;
  CHECK_OK(lazy_bind_peek(engine, h_json, &state, &value, NULL, NULL));
  CHECK(state == LAZY_BIND_STATE_RESOLVED && value == &json);

  /* Both outputs are optional: the failure is retried and counted again. */
  CHECK_OK(lazy_bind_policy_disable(policy, engine, NULL, NULL));
  CHECK_STATUS(lazy_bind_policy_disable(NULL, engine, NULL, NULL), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_policy_disable(policy, NULL, NULL, NULL), LAZY_BIND_NULL_ARGUMENT);
  lazy_bind_policy_free(&policy);
  lazy_bind_engine_free(&engine);
  CHECK(test_refs(&json) == 1);
}

int main(void) {
  parsing();
  deciding();
  filtering();
  scopes();
  builtin_rules();
  environment();
  phase_switch();
  printf("policy: ok\n");
  return 0;
}
