/* Two translation units that each include the header twice, linked into
 * one program: the include guard and the static inline fast path must not
 * clash. This one holds main. */
#include "lazy_bind.h"
#include "lazy_bind.h"

#include <stdio.h>

/* Defined in double_include_b.c. */
int double_include_b_fast_path(const lazy_bind_engine *engine, lazy_bind_handle handle);

int main(void) {
  static int object = 1;
  lazy_bind_engine *engine = NULL;
  lazy_bind_handle handle;
  if (lazy_bind_engine_new(NULL, 0, &engine) != LAZY_BIND_OK) return 1;
  if (lazy_bind_entry_create_resolved(engine, "x", NULL, 0, &object, &handle) != LAZY_BIND_OK)
    return 2;
  const lazy_bind_slot *slot = NULL;
  if (lazy_bind_engine_slot(engine, handle, &slot) != LAZY_BIND_OK) return 3;
  if (lazy_bind_get_fast(slot, handle.stamp) != &object) return 4;
  if (!double_include_b_fast_path(engine, handle)) return 5;
  lazy_bind_engine_free(&engine);
  printf("double_include: ok\n");
  return 0;
}
