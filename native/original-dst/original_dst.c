/*
 * originalDst(fd) -> [address, port] | null
 *
 * An iptables nat REDIRECT rewrites a connection's destination to the proxy's port; conntrack still
 * knows where the client meant to go, and getsockopt(SO_ORIGINAL_DST) hands it back (Envoy's
 * original_dst listener filter does the same). Node has no binding for it, hence this addon.
 * Plain N-API (node_api.h), no C++ wrapper library, so it builds offline with node-gyp alone.
 */
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* linux/netfilter_ipv4.h and linux/netfilter_ipv6/ip6_tables.h; spelled out so the build needs no
   kernel headers beyond libc's. Both are 80. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

static const char *errno_name(int e) {
  switch (e) {
    case ENOENT: return "ENOENT";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EBADF: return "EBADF";
    case ENOTSOCK: return "ENOTSOCK";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case EPERM: return "EPERM";
    case ENOTCONN: return "ENOTCONN";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    default: return "EUNKNOWN";
  }
}

static napi_value throw_errno(napi_env env, const char *what, int e) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s failed: %s (%s)", what, strerror(e), errno_name(e));
  napi_value code, message, error, num;
  napi_create_string_utf8(env, errno_name(e), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, -e, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_throw(env, error);
  return NULL;
}

static napi_value result(napi_env env, const char *address, int port) {
  napi_value arr, a, p;
  napi_create_array_with_length(env, 2, &arr);
  napi_create_string_utf8(env, address, NAPI_AUTO_LENGTH, &a);
  napi_create_int32(env, port, &p);
  napi_set_element(env, arr, 0, a);
  napi_set_element(env, arr, 1, p);
  return arr;
}

static napi_value null_value(napi_env env) {
  napi_value n;
  napi_get_null(env, &n);
  return n;
}

/* The connection was not NATed (no conntrack entry, or conntrack not loaded at all). */
static int not_redirected(int e) {
  return e == ENOENT || e == ENOPROTOOPT;
}

static napi_value original_dst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  int32_t fd = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "originalDst(fd): fd must be a non-negative integer file descriptor");
    return NULL;
  }

  struct sockaddr_storage local;
  socklen_t len = sizeof local;
  if (getsockname(fd, (struct sockaddr *)&local, &len) != 0) return throw_errno(env, "getsockname", errno);

  char text[INET6_ADDRSTRLEN];
  if (local.ss_family == AF_INET) {
    struct sockaddr_in dst;
    len = sizeof dst;
    if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst, &len) != 0) {
      int e = errno;
      if (not_redirected(e)) return null_value(env);
      return throw_errno(env, "getsockopt(SO_ORIGINAL_DST)", e);
    }
    inet_ntop(AF_INET, &dst.sin_addr, text, sizeof text);
    return result(env, text, ntohs(dst.sin_port));
  }
  if (local.ss_family == AF_INET6) {
    struct sockaddr_in6 dst6;
    len = sizeof dst6;
    if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &dst6, &len) == 0) {
      inet_ntop(AF_INET6, &dst6.sin6_addr, text, sizeof text);
      return result(env, text, ntohs(dst6.sin6_port));
    }
    int e = errno;
    /* A dual-stack socket carrying IPv4 (::ffff:a.b.c.d) is tracked by IPv4 conntrack. */
    struct sockaddr_in dst;
    len = sizeof dst;
    if (IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&local)->sin6_addr) &&
        getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst, &len) == 0) {
      inet_ntop(AF_INET, &dst.sin_addr, text, sizeof text);
      return result(env, text, ntohs(dst.sin_port));
    }
    if (not_redirected(e)) return null_value(env);
    return throw_errno(env, "getsockopt(IP6T_SO_ORIGINAL_DST)", e);
  }
  return throw_errno(env, "originalDst (not an IPv4 or IPv6 socket)", EAFNOSUPPORT);
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  if (napi_create_function(env, "originalDst", NAPI_AUTO_LENGTH, original_dst, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "originalDst", fn) != napi_ok) return NULL;
  return exports;
}
