/* A flattened device tree reader (Devicetree Specification v0.4 §5): find a node by compatible, read its properties. */
#ifndef HVSIM_GUEST_FDT_H
#define HVSIM_GUEST_FDT_H
#include "hv.h"

/* The offset of the first node whose compatible list holds `compat` (-1 if none, or not an FDT). */
int fdt_find_compatible(const void *fdt, const char *compat);
/* A property of the node at `node`: its bytes and length, or 0. */
const u8 *fdt_prop(const void *fdt, int node, const char *name, u32 *len);
/* The node's name (after its BEGIN_NODE token). */
const char *fdt_name(const void *fdt, int node);
/* Big-endian cells. */
u32 fdt32(const u8 *p);
u64 fdt64(const u8 *p);
#endif
