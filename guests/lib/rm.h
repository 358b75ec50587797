/*
 * The Gunyah Resource Manager's RPC, from a guest (reference gunyah-rm-and-host.md §1-§2, §4):
 * the channel from the device tree the RM wrote at VM_START (the node whose compatible is
 * "gunyah-resource-manager": `reg` = [tx capid, rx capid], `interrupts` ending with the receive
 * VIRQ, as Linux's rsc_mgr.c reads it), 8-byte headers, 240-byte fragments sent with
 * msgqueue_send (PUSH on the last), replies and notifications drained by the receive VIRQ's
 * handler, replies matched by sequence number and message ID.
 */
#ifndef HVSIM_GUEST_RM_H
#define HVSIM_GUEST_RM_H
#include "hv.h"

#define RM_MEM_ACCEPT 0x51000011u
#define RM_MEM_RELEASE 0x51000014u
#define RM_MEM_RECLAIM 0x51000015u
#define RM_MEM_SHARE 0x51000013u
#define RM_MEM_NOTIFY 0x51000017u
#define RM_VM_GET_VMID 0x56000024u
#define RM_NOTIFY_MEM_SHARED 0x51100011u
#define RM_NOTIFY_MEM_RELEASED 0x51100012u
#define RM_MEM_NOTIFY_SHARED 0x1
#define RM_MEM_NOTIFY_RELEASED 0x2
#define RM_MEM_ACCEPT_DONE 0x80
#define RM_TRANS_SHARE 2

#define RM_MSG_MAX 464	/* two fragments: every message these guests exchange */

struct rm_channel { u64 tx, rx; u32 virq; };

/* Finds the RM node in the device tree; registers and enables its receive VIRQ. 0 if there is none. */
int rm_init(const void *dtb, struct rm_channel *out);
/*
 * One request: sends it, waits (WFI) for its reply. Returns the RM error code of the reply (0 OK),
 * or 0xffffffff if the reply never came; `data` gets the reply's data after the error word.
 */
u32 rm_call(u32 msg_id, const void *req, u32 len, u8 *data, u32 *data_len);
/* Waits (WFI) for the next notification `msg_id`; copies its payload. Earlier other notifications are skipped. */
u32 rm_wait_notification(u32 msg_id, u8 *payload, u32 max);

/* Little-endian fields of RM payloads. */
void put_le(u8 *b, u32 at, u64 v, u32 n);
u64 get_le(const u8 *b, u32 at, u32 n);
#endif
