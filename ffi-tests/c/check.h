/*
 * Test support shared by the C tests: assertion macros and a toy runtime
 * whose objects count their references, so every test can check that the
 * engine's retain/release calls balance. Uses only the C standard library
 * and lazy_bind.h.
 */
#ifndef LAZY_BIND_TEST_CHECK_H
#define LAZY_BIND_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazy_bind.h"

#define CHECK(cond)                                                         \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,      \
              #cond);                                                       \
      exit(1);                                                              \
    }                                                                       \
  } while (0)

#define CHECK_STATUS(expr, expected)                                        \
  do {                                                                      \
    lazy_bind_result check_status_ = (expr);                                \
    if (check_status_ != (expected)) {                                      \
      fprintf(stderr, "%s:%d: %s returned %u (%s), expected %s\n",          \
              __FILE__, __LINE__, #expr, (unsigned)check_status_,           \
              lazy_bind_result_message(check_status_), #expected);          \
      exit(1);                                                              \
    }                                                                       \
  } while (0)

#define CHECK_OK(expr) CHECK_STATUS(expr, LAZY_BIND_OK)

#define CHECK_STR(actual, expected)                                         \
  do {                                                                      \
    const char *check_actual_ = (actual);                                   \
    if (check_actual_ == NULL || strcmp(check_actual_, (expected)) != 0) {  \
      fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__,   \
              __LINE__, #actual, check_actual_ ? check_actual_ : "(null)",  \
              (expected));                                                  \
      exit(1);                                                              \
    }                                                                       \
  } while (0)

/* A toy runtime object: a name and a reference count. */
typedef struct test_object {
  const char *name;
  int refs;
} test_object;

/* Counts of hook calls, updated atomically (hooks run on any thread). */
typedef struct test_runtime {
  int retains;
  int releases;
  int blocks;
  int wakes;
} test_runtime;

static inline void test_retain(void *userdata, void *value) {
  test_runtime *runtime = (test_runtime *)userdata;
  __atomic_fetch_add(&runtime->retains, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&((test_object *)value)->refs, 1, __ATOMIC_RELAXED);
}

static inline void test_release(void *userdata, void *value) {
  test_runtime *runtime = (test_runtime *)userdata;
  __atomic_fetch_add(&runtime->releases, 1, __ATOMIC_RELAXED);
  int left = __atomic_sub_fetch(&((test_object *)value)->refs, 1, __ATOMIC_RELAXED);
  if (left < 0) {
    fprintf(stderr, "object %s released more often than retained\n",
            ((test_object *)value)->name);
    abort();
  }
}

/* Hooks with retain/release only. */
static inline lazy_bind_runtime_hooks test_hooks(test_runtime *runtime) {
  lazy_bind_runtime_hooks hooks;
  memset(&hooks, 0, sizeof hooks);
  hooks.size = sizeof hooks;
  hooks.userdata = runtime;
  hooks.retain = test_retain;
  hooks.release = test_release;
  return hooks;
}

/* Returns a new reference to `object`, as a resolver must. */
static inline void *test_new_ref(test_object *object) {
  __atomic_fetch_add(&object->refs, 1, __ATOMIC_RELAXED);
  return object;
}

static inline int test_refs(test_object *object) {
  return __atomic_load_n(&object->refs, __ATOMIC_RELAXED);
}

#endif /* LAZY_BIND_TEST_CHECK_H */
