// Helpers for the wasi:sockets test programs: "sockets.h" is the header that
// wit-bindgen generates for the `sockets` world of scripts/wit/net.wit.
#ifndef SOCKETS_UTIL_H
#define SOCKETS_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#include "sockets.h"

typedef wasi_sockets_network_error_code_t error_code_t;

static const char *error_name(error_code_t e) {
    static const char *const names[] = {
        "unknown", "access-denied", "not-supported", "invalid-argument",
        "out-of-memory", "timeout", "concurrency-conflict", "not-in-progress",
        "would-block", "invalid-state", "new-socket-limit",
        "address-not-bindable", "address-in-use", "remote-unreachable",
        "connection-refused", "connection-reset", "connection-aborted",
        "datagram-too-large", "name-unresolvable",
        "temporary-resolver-failure", "permanent-resolver-failure",
    };
    return e < sizeof names / sizeof names[0] ? names[e] : "(unknown error code)";
}

// Reports a failed call on stderr and exits with 1.
static _Noreturn void fail(const char *what, error_code_t e) {
    fprintf(stderr, "%s: %s\n", what, error_name(e));
    exit(1);
}

// Waits until `p` is ready, then drops it.
static void block_on(wasi_io_poll_own_pollable_t p) {
    wasi_io_poll_method_pollable_block(wasi_io_poll_borrow_pollable(p));
    wasi_io_poll_pollable_drop_own(p);
}

// 127.0.0.1 with the given port.
static wasi_sockets_network_ip_socket_address_t loopback(uint16_t port) {
    wasi_sockets_network_ip_socket_address_t a;
    a.tag = WASI_SOCKETS_NETWORK_IP_SOCKET_ADDRESS_IPV4;
    a.val.ipv4.port = port;
    a.val.ipv4.address.f0 = 127;
    a.val.ipv4.address.f1 = 0;
    a.val.ipv4.address.f2 = 0;
    a.val.ipv4.address.f3 = 1;
    return a;
}

// Prints an IPv4 socket address as the `host:port` line that the harness's
// `connect` operation reads, and flushes it.
static void print_address(const wasi_sockets_network_ip_socket_address_t *a) {
    if (a->tag != WASI_SOCKETS_NETWORK_IP_SOCKET_ADDRESS_IPV4) {
        fprintf(stderr, "bound to an IPv6 address\n");
        exit(1);
    }
    const wasi_sockets_network_ipv4_address_t *ip = &a->val.ipv4.address;
    printf("%u.%u.%u.%u:%u\n", ip->f0, ip->f1, ip->f2, ip->f3, a->val.ipv4.port);
    fflush(stdout);
}

#endif
