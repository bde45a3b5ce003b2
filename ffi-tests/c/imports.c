/* Import bindings from C: a toy runtime with a few modules and attributes
 * behind the import hooks; `import a.b`, `import a.b as c`, `from a import
 * x`, relative imports, a failing import carrying the runtime's exception,
 * a lazy attribute, hydrate, validate and forgetting a namespace. */
#include "check.h"

#define MAX_ATTRS 16

/* A module of the toy runtime. */
typedef struct toy_module {
  test_object object; /* first: the engine sees a test_object */
  const char *name;
  int imports;        /* how often import_module returned it (the engine
                         asks again for parents it already imported) */
} toy_module;

static toy_module pkg = {{"pkg", 1}, "pkg", 0};
static toy_module pkg_sub = {{"pkg.sub", 1}, "pkg.sub", 0};
static toy_module json = {{"json", 1}, "json", 0};
static toy_module *modules[] = {&pkg, &pkg_sub, &json};
static test_object dumps = {"json.dumps", 1};
static test_object not_found = {"ModuleNotFoundError", 1};
static test_object version = {"pkg.version", 1};

/* A lazy placeholder stored as attribute pkg.lazy: it stands for an entry
 * of the engine (the runtime tells the engine through as_lazy). */
static test_object placeholder = {"<lazy pkg.version>", 1};
static lazy_bind_handle placeholder_handle;
/* Attribute pkg.broken is a placeholder too, whose resolver fails. */
static test_object broken = {"<lazy pkg.broken>", 1};
static lazy_bind_handle broken_handle;
static test_object broken_error = {"ValueError", 1};
#define BROKEN_STATUS 42

/* Attributes: (module, name, value); set_attr_if_absent appends. */
static struct {
  void *module;
  const char *name;
  test_object *value;
} attrs[MAX_ATTRS] = {{&json, "dumps", &dumps},
                      {&pkg, "lazy", &placeholder},
                      {&pkg, "broken", &broken}};
static int attr_count = 3;

static toy_module *find(const char *name) {
  for (size_t i = 0; i < sizeof modules / sizeof modules[0]; i++) {
    if (strcmp(modules[i]->name, name) == 0) {
      return modules[i];
    }
  }
  return NULL;
}

static uint32_t import_module(void *userdata, const char *name, const char *const *fromlist,
                              size_t fromlist_len, void **module_out,
                              void **runtime_error_out) {
  (void)userdata, (void)fromlist;
  CHECK(fromlist_len == 0 || fromlist != NULL);
  toy_module *module = find(name);
  if (module == NULL) {
    *runtime_error_out = test_new_ref(&not_found);
    return LAZY_BIND_RESOLVER_FAILED;
  }
  module->imports++;
  *module_out = test_new_ref(&module->object);
  return LAZY_BIND_OK;
}

static uint32_t get_attr(void *userdata, void *module, const char *name, void **value_out,
                         void **runtime_error_out) {
  (void)userdata, (void)runtime_error_out;
  for (int i = 0; i < attr_count; i++) {
    if (attrs[i].module == module && strcmp(attrs[i].name, name) == 0) {
      *value_out = test_new_ref(attrs[i].value);
      return LAZY_BIND_OK;
    }
  }
  return LAZY_BIND_OK; /* absent: *value_out stays NULL */
}

static uint32_t set_attr_if_absent(void *userdata, void *module, const char *name, void *value,
                                   void **runtime_error_out) {
  (void)runtime_error_out;
  void *existing = NULL;
  get_attr(userdata, module, name, &existing, NULL);
  if (existing != NULL) {
    test_release(userdata, existing);
    return LAZY_BIND_OK;
  }
  CHECK(attr_count < MAX_ATTRS);
  /* The toy keeps borrowed module objects: they live for the whole test. */
  attrs[attr_count].module = module;
  /* `name` is borrowed for the call only: keep a static string. */
  attrs[attr_count].name = strcmp(name, "sub") == 0 ? "sub" : "other";
  attrs[attr_count].value = (test_object *)value;
  attr_count++;
  return LAZY_BIND_OK;
}

static void *loaded_module(void *userdata, const char *name) {
  (void)userdata;
  toy_module *module = find(name);
  return module != NULL && module->imports > 0 ? test_new_ref(&module->object) : NULL;
}

static bool can_find(void *userdata, const char *name) {
  (void)userdata;
  return find(name) != NULL;
}

static bool as_lazy(void *userdata, void *value, lazy_bind_handle *handle_out) {
  (void)userdata;
  if (value == &placeholder) {
    *handle_out = placeholder_handle;
  } else if (value == &broken) {
    *handle_out = broken_handle;
  } else {
    return false;
  }
  return true;
}

static uint32_t resolve_version(void *userdata, const lazy_bind_engine *engine,
                                lazy_bind_handle handle, void **value_out,
                                void **runtime_error_out) {
  (void)userdata, (void)engine, (void)handle, (void)runtime_error_out;
  *value_out = test_new_ref(&version);
  return LAZY_BIND_OK;
}

static uint32_t resolve_broken(void *userdata, const lazy_bind_engine *engine,
                               lazy_bind_handle handle, void **value_out,
                               void **runtime_error_out) {
  (void)userdata, (void)engine, (void)handle, (void)value_out;
  *runtime_error_out = test_new_ref(&broken_error);
  return BROKEN_STATUS;
}

static void *resolve(const lazy_bind_engine *engine, lazy_bind_handle handle) {
  void *value = NULL;
  lazy_bind_error *error = NULL;
  if (lazy_bind_resolve(engine, handle, "main.py", 50, &value, &error) != LAZY_BIND_OK) {
    fprintf(stderr, "resolve failed: %s\n", lazy_bind_error_message(error));
    exit(1);
  }
  return value;
}

static void check_contains(const char *text, const char *part) {
  if (text == NULL || strstr(text, part) == NULL) {
    fprintf(stderr, "\"%s\" lacks \"%s\"\n", text ? text : "(null)", part);
    exit(1);
  }
}

static bool same(lazy_bind_handle a, lazy_bind_handle b) {
  return a.stamp == b.stamp && a.index == b.index;
}

int main(void) {
  test_runtime runtime = {0, 0, 0, 0};
  lazy_bind_runtime_hooks hooks = test_hooks(&runtime);
  lazy_bind_engine *engine = NULL;
  CHECK_OK(lazy_bind_engine_new(&hooks, 0, &engine));
  lazy_bind_import_hooks import_hooks;
  memset(&import_hooks, 0, sizeof import_hooks);
  import_hooks.size = sizeof import_hooks;
  import_hooks.userdata = &runtime;
  import_hooks.import_module = import_module;
  import_hooks.get_attr = get_attr;
  /* A required hook missing is rejected. */
  lazy_bind_importer *importer = NULL;
  CHECK_STATUS(lazy_bind_importer_new(engine, &import_hooks, &importer),
               LAZY_BIND_INVALID_ARGUMENT);
  import_hooks.set_attr_if_absent = set_attr_if_absent;
  import_hooks.loaded_module = loaded_module;
  import_hooks.can_find = can_find;
  import_hooks.as_lazy = as_lazy;
  CHECK_OK(lazy_bind_importer_new(engine, &import_hooks, &importer));
  CHECK_OK(lazy_bind_entry_create(engine, "pkg.version", "pkg.py", 1, resolve_version, NULL,
                                  NULL, &placeholder_handle));
  CHECK_OK(lazy_bind_entry_create(engine, "pkg.broken", "pkg.py", 2, resolve_broken, NULL, NULL,
                                  &broken_handle));

  /* import pkg.sub: binds pkg; nothing runs until the access. */
  lazy_bind_handle h_pkg, h_again, h_sub, h_from[2], h_rel, h_missing, h_json, h_nowhere;
  CHECK_OK(lazy_bind_importer_defer_import(importer, 1, "__main__", "pkg.sub", "main.py", 1,
                                           &h_pkg, NULL));
  CHECK_OK(lazy_bind_importer_defer_import(importer, 1, "__main__", "pkg.sub", "main.py", 2,
                                           &h_again, NULL));
  CHECK(same(h_pkg, h_again)); /* joins the pending entry */
  CHECK(pkg.imports == 0);
  CHECK(resolve(engine, h_pkg) == &pkg);
  CHECK(pkg.imports >= 1 && pkg_sub.imports == 1);

  /* import pkg.sub as s: the submodule itself. */
  CHECK_OK(lazy_bind_importer_defer_import_as(importer, 1, "__main__", "pkg.sub", "s",
                                              "main.py", 3, &h_sub, NULL));
  CHECK(resolve(engine, h_sub) == &pkg_sub.object);

  /* from json import dumps, nothing as n: an attribute, and a failure. */
  const char *names[] = {"dumps", "nothing"};
  const char *aliases[] = {NULL, "n"};
  CHECK_OK(lazy_bind_importer_defer_from(importer, 1, "__main__", NULL, 0, "json", names,
                                         aliases, 2, "main.py", 4, h_from, NULL));
  CHECK(resolve(engine, h_from[0]) == &dumps);
  void *value = NULL;
  lazy_bind_error *error = NULL;
  CHECK_STATUS(lazy_bind_resolve(engine, h_from[1], "main.py", 60, &value, &error),
               LAZY_BIND_RESOLVER_FAILED);
  CHECK_STR(lazy_bind_error_declaration_name(error), "json.nothing");
  check_contains(lazy_bind_error_message(error), "cannot import name 'nothing' from 'json'");
  lazy_bind_error_free(&error);

  /* from . import lazy, in package pkg: the attribute is itself a lazy
   * binding, resolved in turn. */
  const char *lazy_name[] = {"lazy"};
  CHECK_OK(lazy_bind_importer_defer_from(importer, 2, "pkg.mod", "pkg", 1, "", lazy_name, NULL,
                                         1, "pkg/mod.py", 1, &h_rel, NULL));
  CHECK(resolve(engine, h_rel) == &version);

  /* from pkg import broken: the attribute's own resolution fails. The
   * error reaching this binding nests that failure; the runtime's original
   * error object and status are still the ones handed back. */
  const char *broken_name[] = {"broken"};
  lazy_bind_handle h_broken;
  CHECK_OK(lazy_bind_importer_defer_from(importer, 1, "__main__", NULL, 0, "pkg", broken_name,
                                         NULL, 1, "main.py", 6, &h_broken, NULL));
  CHECK_STATUS(lazy_bind_resolve(engine, h_broken, "main.py", 80, &value, &error),
               LAZY_BIND_RESOLVER_FAILED);
  CHECK_STR(lazy_bind_error_declaration_name(error), "pkg.broken");
  CHECK(lazy_bind_error_runtime_value(error) == &broken_error);
  CHECK(lazy_bind_error_resolver_status(error) == BROKEN_STATUS);
  check_contains(lazy_bind_error_message(error), "'pkg.broken' (declared at pkg.py:2)");
  lazy_bind_error_free(&error);

  /* A module that cannot be imported: the runtime's exception comes back. */
  CHECK_OK(lazy_bind_importer_defer_import(importer, 1, "__main__", "missing", "main.py", 5,
                                           &h_missing, NULL));
  CHECK_STATUS(lazy_bind_resolve(engine, h_missing, "main.py", 70, &value, &error),
               LAZY_BIND_RESOLVER_FAILED);
  CHECK(lazy_bind_error_runtime_value(error) == &not_found);
  CHECK(lazy_bind_error_resolver_status(error) == LAZY_BIND_RESOLVER_FAILED);
  check_contains(lazy_bind_error_message(error), "'missing' (declared at main.py:5)");
  lazy_bind_error_free(&error);

  /* Bad statements are statuses with a message; outputs stay untouched. */
  char *message = NULL;
  lazy_bind_handle untouched = h_pkg;
  CHECK_STATUS(lazy_bind_importer_defer_from(importer, 2, "pkg.mod", "pkg", 3, "x", lazy_name,
                                             NULL, 1, NULL, 0, &untouched, &message),
               LAZY_BIND_INVALID_IMPORT);
  check_contains(message, "beyond top-level package");
  lazy_bind_string_free(&message);
  const char *star[] = {"*"};
  CHECK_STATUS(lazy_bind_importer_defer_from(importer, 1, "__main__", NULL, 0, "json", star,
                                             NULL, 1, NULL, 0, &untouched, NULL),
               LAZY_BIND_INVALID_IMPORT);
  CHECK_STATUS(lazy_bind_importer_defer_import(importer, 1, "__main__", "a..b", NULL, 0,
                                               &untouched, &message),
               LAZY_BIND_INVALID_IMPORT);
  check_contains(message, "a..b");
  lazy_bind_string_free(&message);
  CHECK_STATUS(lazy_bind_importer_defer_import_as(importer, 1, "__main__", "pkg", "a.b", NULL,
                                                  0, &untouched, NULL),
               LAZY_BIND_INVALID_IMPORT);
  CHECK_STATUS(lazy_bind_importer_defer_from(importer, 1, "__main__", NULL, 0, "json", NULL,
                                             NULL, 1, NULL, 0, &untouched, NULL),
               LAZY_BIND_NULL_ARGUMENT);
  CHECK(same(untouched, h_pkg));

  /* Relative names. */
  char *absolute = NULL;
  CHECK_OK(lazy_bind_resolve_name("a.b.c", 3, "x", &absolute, NULL));
  CHECK_STR(absolute, "a.x");
  lazy_bind_string_free(&absolute);
  CHECK_STATUS(lazy_bind_resolve_name("", 1, "x", &absolute, &message),
               LAZY_BIND_INVALID_IMPORT);
  CHECK(absolute == NULL);
  check_contains(message, "no known parent package");
  lazy_bind_string_free(&message);

  /* Hydrate: json is loaded already, so `import json` needs no import. */
  CHECK_OK(lazy_bind_importer_defer_import(importer, 3, "other", "json", "other.py", 1, &h_json,
                                           NULL));
  int json_imports = json.imports;
  size_t count = 0;
  CHECK_OK(lazy_bind_importer_hydrate(importer, &count));
  CHECK(count == 1);
  lazy_bind_state state;
  CHECK_OK(lazy_bind_peek(engine, h_json, &state, &value, NULL, NULL));
  CHECK(state == LAZY_BIND_STATE_RESOLVED && value == &json.object);
  CHECK(json.imports == json_imports);

  /* Validate: a typo is found without running anything. */
  CHECK_OK(lazy_bind_importer_defer_import(importer, 3, "other", "nowhere.sub", "other.py", 2,
                                           &h_nowhere, NULL));
  char *report = NULL;
  CHECK_OK(lazy_bind_importer_validate(importer, &count, &report));
  CHECK(count == 2); /* nowhere, and the still failing `missing` */
  check_contains(report, "No module named 'nowhere' (lazy import of 'nowhere.sub'");
  check_contains(report, "No module named 'missing'");
  lazy_bind_string_free(&report);

  /* What pending bindings will import and is not loaded: nowhere (json's
   * binding has its value; `missing` stays pending). */
  char *lazy_modules = NULL;
  CHECK_OK(lazy_bind_importer_lazy_modules(importer, &lazy_modules));
  check_contains(lazy_modules, "nowhere\nnowhere.sub\n");
  CHECK(strstr(lazy_modules, "json") == NULL);
  lazy_bind_string_free(&lazy_modules);
  CHECK_STATUS(lazy_bind_importer_lazy_modules(importer, NULL), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_importer_lazy_modules(NULL, &lazy_modules), LAZY_BIND_NULL_ARGUMENT);

  /* Under a guarded import (a statement inside `try`), only a module that
   * cannot be found must be imported at once. */
  bool missing = true;
  CHECK_OK(lazy_bind_importer_missing_under_guard(importer, "nowhere", &missing));
  CHECK(!missing); /* not inside a guarded import */
  CHECK_OK(lazy_bind_guarded_import_enter());
  CHECK_OK(lazy_bind_importer_missing_under_guard(importer, "nowhere", &missing));
  CHECK(missing);
  CHECK_OK(lazy_bind_importer_missing_under_guard(importer, "json", &missing));
  CHECK(!missing);
  CHECK_STATUS(lazy_bind_importer_missing_under_guard(importer, NULL, &missing),
               LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_importer_missing_under_guard(NULL, "json", &missing),
               LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_importer_missing_under_guard(importer, "json", NULL),
               LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_importer_missing_under_guard(importer, "\xff", &missing),
               LAZY_BIND_INVALID_UTF8);
  CHECK_OK(lazy_bind_guarded_import_leave());
  CHECK_STATUS(lazy_bind_guarded_import_leave(), LAZY_BIND_INVALID_ARGUMENT);

  CHECK_OK(lazy_bind_importer_forget_namespace(importer, 3, &count));
  CHECK(count == 1); /* nowhere: json's binding left the table once it had its value */
  CHECK_OK(lazy_bind_importer_forget_namespace(importer, 3, NULL));

  /* The importer shares the engine: reclaim waits until it is freed. */
  CHECK_STATUS(lazy_bind_engine_reclaim(engine, NULL), LAZY_BIND_INVALID_ARGUMENT);
  lazy_bind_importer_free(&importer);
  CHECK(importer == NULL);
  lazy_bind_importer_free(&importer); /* harmless twice */
  CHECK_OK(lazy_bind_engine_reclaim(engine, NULL));
  lazy_bind_engine_free(&engine);

  /* Every reference the engine took was given back. */
  CHECK(test_refs(&pkg.object) == 1 && test_refs(&pkg_sub.object) == 1);
  CHECK(test_refs(&json.object) == 1 && test_refs(&dumps) == 1);
  CHECK(test_refs(&version) == 1 && test_refs(&placeholder) == 1);
  CHECK(test_refs(&not_found) == 1);
  CHECK(test_refs(&broken) == 1 && test_refs(&broken_error) == 1);
  printf("imports: ok\n");
  return 0;
}
