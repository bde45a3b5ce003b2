/* The second translation unit of the double-include test. */
#include "lazy_bind.h"
#include "lazy_bind.h"

int double_include_b_fast_path(const lazy_bind_engine *engine, lazy_bind_handle handle);

int double_include_b_fast_path(const lazy_bind_engine *engine, lazy_bind_handle handle) {
  const lazy_bind_slot *slot = NULL;
  if (lazy_bind_engine_slot(engine, handle, &slot) != LAZY_BIND_OK) return 0;
  return lazy_bind_get_fast(slot, handle.stamp) != NULL;
}
