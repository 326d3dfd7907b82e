/**
 * The destination a TCP connection had before an iptables nat REDIRECT/DNAT, read with
 * getsockopt(SO_ORIGINAL_DST) (IPv4) or getsockopt(IP6T_SO_ORIGINAL_DST) (IPv6).
 * Returns null when the connection was not NATed (ENOENT, or ENOPROTOOPT without conntrack);
 * throws an Error with `code` (errno name) and `errno` for anything else (EBADF, ENOTSOCK, ...).
 */
export function originalDst(fd: number): [address: string, port: number] | null;
