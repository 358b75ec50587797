/**
 * The RM's peer lists (RM:src/vm_mgnt/vm_mgnt.c:1303-1390): two VMs are peers when one owns the
 * other (registered at VM_ALLOCATE, :322) or a vdevice links them (vm_config.c:2361, 2775); a VM loses all its peers when its
 * reset completes or it is deallocated. Peers may query each other (is_vm_query_allowed,
 * vm_mgnt.c:468-490) and hear each other's state changes (NOTIFY_VM_STATUS).
 */
import { VMID } from "../abi/rm.ts";
import type { VmRoomsState } from "./context.ts";

/** A VM's peers in registration order (empty if none). */
export function peersOf(s: VmRoomsState, vmid: number): readonly number[] {
  return s.rm.peers[vmid] ?? [];
}

/** vm_register_peers: each joins the other's list, once. */
export function registerPeers(s: VmRoomsState, a: number, b: number): void {
  if (a === b || a === VMID.RM || b === VMID.RM) return;
  const la = (s.rm.peers[a] ??= []);
  if (la.includes(b)) return;
  la.push(b);
  (s.rm.peers[b] ??= []).push(a);
}

/** vm_deregister_all_peers: the VM leaves every peer's list, and its own is emptied (last first). */
export function deregisterAllPeers(s: VmRoomsState, vmid: number): void {
  const mine = s.rm.peers[vmid] ?? [];
  for (let i = mine.length - 1; i >= 0; i--) {
    const other = s.rm.peers[mine[i]!];
    if (other === undefined) continue;
    const k = other.indexOf(vmid);
    if (k >= 0) other.splice(k, 1);
    if (other.length === 0) delete s.rm.peers[mine[i]!];
  }
  delete s.rm.peers[vmid];
}

/** is_vm_query_allowed: the VM itself, its owner, or one of its peers (the RM owns the HLOS). */
export function isQueryAllowed(s: VmRoomsState, vmid: number, client: number): boolean {
  if (client === vmid) return true;
  const owner = vmid === VMID.HLOS || vmid === VMID.RM ? VMID.RM : s.rm.vms.byId[vmid]?.owner;
  return client === owner || peersOf(s, vmid).includes(client);
}
