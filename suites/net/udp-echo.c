// wit-world: sockets
// A UDP exchange over wasi:sockets: binds 127.0.0.1:0, prints the bound
// `127.0.0.1:PORT` on stdout, then sends every datagram it receives back
// upper-cased to its sender, until a datagram "quit" arrives: then it exits 0
// without answering. (It does not exit right after its answer: the harness
// must still be able to receive it, and the guest's end races with that.)
// A failed call is reported on stderr as "WHAT: ERROR-CODE" with exit
// code 1.
#include <ctype.h>
#include <string.h>

#include "sockets-util.h"

int main(void) {
    wasi_sockets_network_own_network_t net = wasi_sockets_instance_network_instance_network();
    wasi_sockets_udp_own_udp_socket_t sock;
    error_code_t err;
    if (!wasi_sockets_udp_create_socket_create_udp_socket(
            WASI_SOCKETS_NETWORK_IP_ADDRESS_FAMILY_IPV4, &sock, &err))
        fail("create-udp-socket", err);
    wasi_sockets_udp_borrow_udp_socket_t s = wasi_sockets_udp_borrow_udp_socket(sock);

    wasi_sockets_network_ip_socket_address_t addr = loopback(0);
    if (!wasi_sockets_udp_method_udp_socket_start_bind(
            s, wasi_sockets_network_borrow_network(net), &addr, &err))
        fail("bind 127.0.0.1:0", err);
    while (!wasi_sockets_udp_method_udp_socket_finish_bind(s, &err)) {
        if (err != WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK) fail("bind 127.0.0.1:0", err);
        block_on(wasi_sockets_udp_method_udp_socket_subscribe(s));
    }
    if (!wasi_sockets_udp_method_udp_socket_local_address(s, &addr, &err))
        fail("local-address", err);

    // Unconnected streams (no remote address): datagrams from anyone.
    wasi_sockets_udp_tuple2_own_incoming_datagram_stream_own_outgoing_datagram_stream_t streams;
    if (!wasi_sockets_udp_method_udp_socket_stream(s, NULL, &streams, &err)) fail("stream", err);
    wasi_sockets_udp_borrow_incoming_datagram_stream_t in =
        wasi_sockets_udp_borrow_incoming_datagram_stream(streams.f0);
    wasi_sockets_udp_borrow_outgoing_datagram_stream_t out =
        wasi_sockets_udp_borrow_outgoing_datagram_stream(streams.f1);
    print_address(&addr);

    for (;;) {
        wasi_sockets_udp_list_incoming_datagram_t got;
        for (;;) {
            if (!wasi_sockets_udp_method_incoming_datagram_stream_receive(in, 1, &got, &err))
                fail("receive", err);
            if (got.len > 0) break;
            wasi_sockets_udp_list_incoming_datagram_free(&got);
            block_on(wasi_sockets_udp_method_incoming_datagram_stream_subscribe(in));
        }
        wasi_sockets_udp_incoming_datagram_t *d = &got.ptr[0];
        if (d->data.len == 4 && memcmp(d->data.ptr, "quit", 4) == 0) return 0;
        for (size_t i = 0; i < d->data.len; i++) d->data.ptr[i] = (uint8_t)toupper(d->data.ptr[i]);

        uint64_t permits;
        for (;;) {
            if (!wasi_sockets_udp_method_outgoing_datagram_stream_check_send(out, &permits, &err))
                fail("check-send", err);
            if (permits > 0) break;
            block_on(wasi_sockets_udp_method_outgoing_datagram_stream_subscribe(out));
        }
        wasi_sockets_udp_outgoing_datagram_t reply;
        reply.data = d->data;
        reply.remote_address.is_some = true;
        reply.remote_address.val = d->remote_address;
        wasi_sockets_udp_list_outgoing_datagram_t list = {&reply, 1};
        uint64_t sent;
        if (!wasi_sockets_udp_method_outgoing_datagram_stream_send(out, &list, &sent, &err))
            fail("send", err);
        if (sent != 1) {
            fprintf(stderr, "send: %llu datagrams sent\n", (unsigned long long)sent);
            return 1;
        }
        wasi_sockets_udp_list_incoming_datagram_free(&got);
    }
}
