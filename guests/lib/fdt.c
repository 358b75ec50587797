#include "fdt.h"

#define FDT_MAGIC 0xd00dfeedu
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9

/* Byte by byte: the tree may sit at any address and memory is Device with the MMU off (no unaligned loads). */
u32 fdt32(const u8 *p) { return ((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3]; }
u64 fdt64(const u8 *p) { return ((u64)fdt32(p) << 32) | fdt32(p + 4); }

static const u8 *hdr(const void *fdt, u32 word) { return (const u8 *)fdt + 4 * word; }
static int valid(const void *fdt) { return fdt32(hdr(fdt, 0)) == FDT_MAGIC; }
static const u8 *structure(const void *fdt) { return (const u8 *)fdt + fdt32(hdr(fdt, 2)); }
static const char *strings(const void *fdt) { return (const char *)fdt + fdt32(hdr(fdt, 3)); }
static u32 align4(u32 n) { return (n + 3) & ~3u; }

static int streq(const char *a, const char *b) {
	while (*a && *a == *b) a++, b++;
	return *a == *b;
}

const char *fdt_name(const void *fdt, int node) { return (const char *)structure(fdt) + node + 4; }

/* Walks the node at `node`'s own properties (stops at its first child or its end). */
const u8 *fdt_prop(const void *fdt, int node, const char *name, u32 *len) {
	if (!valid(fdt)) return 0;
	const u8 *s = structure(fdt);
	u32 at = node + 4 + align4(strlen(fdt_name(fdt, node)) + 1);
	for (int guard = 0; guard < 4096; guard++) {
		u32 tok = fdt32(s + at);
		if (tok == FDT_NOP) {
			at += 4;
			continue;
		}
		if (tok != FDT_PROP) return 0;
		u32 n = fdt32(s + at + 4);
		if (streq(strings(fdt) + fdt32(s + at + 8), name)) {
			if (len) *len = n;
			return s + at + 12;
		}
		at += 12 + align4(n);
	}
	return 0;
}

static int has_compatible(const u8 *value, u32 n, const char *compat) {
	for (u32 i = 0; i < n;) {
		const char *entry = (const char *)value + i;
		if (streq(entry, compat)) return 1;
		i += strlen(entry) + 1;
	}
	return 0;
}

int fdt_find_compatible(const void *fdt, const char *compat) {
	if (!valid(fdt)) return -1;
	const u8 *s = structure(fdt);
	u32 size = fdt32(hdr(fdt, 9));
	int node = -1;
	for (u32 at = 0; at < size;) {
		u32 tok = fdt32(s + at);
		if (tok == FDT_BEGIN_NODE) {
			node = (int)at;
			at += 4 + align4(strlen((const char *)s + at + 4) + 1);
		} else if (tok == FDT_PROP) {
			u32 n = fdt32(s + at + 4);
			if (node >= 0 && streq(strings(fdt) + fdt32(s + at + 8), "compatible") && has_compatible(s + at + 12, n, compat)) return node;
			at += 12 + align4(n);
		} else if (tok == FDT_END_NODE || tok == FDT_NOP) {
			at += 4;
		} else {
			return -1;
		}
	}
	return -1;
}
