/* bench/ipvs_shim.c: a stand-in for the kernel's IPVS socket options, for
 * keepalived on a host without ip_vs (bench/checks_host.py preloads it):
 * every IP_VS_SO_SET_* succeeds and does nothing, the IP_VS_SO_GET_* calls
 * describe an empty table of IPVS 1.2.1. keepalived's health checker exits
 * when it cannot reach IPVS; its generic-netlink attempt fails on such a
 * host (no "IPVS" family), and it falls back to these socket options.
 * Owns nothing else: every other call goes to the C library. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define VS_BASE 1152 /* IP_VS_BASE_CTL: 64 + 1024 + 64 */
#define VS_LAST (VS_BASE + 16)

struct vs_info { unsigned version, size, num_services; };

static int is_vs(int level, int opt) { return level == IPPROTO_IP && opt >= VS_BASE && opt <= VS_LAST; }

int setsockopt(int fd, int level, int opt, const void *val, socklen_t len) {
    static int (*real)(int, int, int, const void *, socklen_t);
    if (is_vs(level, opt)) return 0;
    if (!real) real = dlsym(RTLD_NEXT, "setsockopt");
    return real(fd, level, opt, val, len);
}

int getsockopt(int fd, int level, int opt, void *val, socklen_t *len) {
    static int (*real)(int, int, int, void *, socklen_t *);
    if (is_vs(level, opt)) {
        memset(val, 0, *len);
        if (opt == VS_BASE) { /* GET_VERSION: a string */
            strncpy(val, "IP Virtual Server version 1.2.1 (size=4096)", *len);
        } else if (opt == VS_BASE + 1 && *len >= sizeof(struct vs_info)) { /* GET_INFO */
            struct vs_info *i = val;
            i->version = 0x010201;
            i->size = 4096;
        }
        return 0;
    }
    if (!real) real = dlsym(RTLD_NEXT, "getsockopt");
    return real(fd, level, opt, val, len);
}
