// wit-world: sockets
// A TCP echo server over wasi:sockets: binds 127.0.0.1:0, listens, prints the
// bound `127.0.0.1:PORT` on stdout, accepts one connection and echoes what it
// receives until the peer closes, then exits 0. A failed call is reported on
// stderr as "WHAT: ERROR-CODE" with exit code 1 (so without the `sockets`
// proposal the bind fails: see tcp-echo-denied).
#include "sockets-util.h"

int main(void) {
    wasi_sockets_network_own_network_t net = wasi_sockets_instance_network_instance_network();
    wasi_sockets_tcp_own_tcp_socket_t sock;
    error_code_t err;
    if (!wasi_sockets_tcp_create_socket_create_tcp_socket(
            WASI_SOCKETS_NETWORK_IP_ADDRESS_FAMILY_IPV4, &sock, &err))
        fail("create-tcp-socket", err);
    wasi_sockets_tcp_borrow_tcp_socket_t s = wasi_sockets_tcp_borrow_tcp_socket(sock);

    wasi_sockets_network_ip_socket_address_t addr = loopback(0);
    if (!wasi_sockets_tcp_method_tcp_socket_start_bind(
            s, wasi_sockets_network_borrow_network(net), &addr, &err))
        fail("bind 127.0.0.1:0", err);
    while (!wasi_sockets_tcp_method_tcp_socket_finish_bind(s, &err)) {
        if (err != WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK) fail("bind 127.0.0.1:0", err);
        block_on(wasi_sockets_tcp_method_tcp_socket_subscribe(s));
    }
    if (!wasi_sockets_tcp_method_tcp_socket_start_listen(s, &err)) fail("listen", err);
    while (!wasi_sockets_tcp_method_tcp_socket_finish_listen(s, &err)) {
        if (err != WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK) fail("listen", err);
        block_on(wasi_sockets_tcp_method_tcp_socket_subscribe(s));
    }
    if (!wasi_sockets_tcp_method_tcp_socket_local_address(s, &addr, &err))
        fail("local-address", err);
    print_address(&addr);

    wasi_sockets_tcp_tuple3_own_tcp_socket_own_input_stream_own_output_stream_t conn;
    while (!wasi_sockets_tcp_method_tcp_socket_accept(s, &conn, &err)) {
        if (err != WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK) fail("accept", err);
        block_on(wasi_sockets_tcp_method_tcp_socket_subscribe(s));
    }
    wasi_io_streams_borrow_input_stream_t in = wasi_io_streams_borrow_input_stream(conn.f1);
    wasi_io_streams_borrow_output_stream_t out = wasi_io_streams_borrow_output_stream(conn.f2);
    for (;;) {
        sockets_list_u8_t data;
        wasi_io_streams_stream_error_t serr;
        // At most 4096 bytes: the most blocking-write-and-flush takes at once.
        if (!wasi_io_streams_method_input_stream_blocking_read(in, 4096, &data, &serr)) {
            if (serr.tag == WASI_IO_STREAMS_STREAM_ERROR_CLOSED) break;
            fprintf(stderr, "read: stream error\n");
            return 1;
        }
        if (!wasi_io_streams_method_output_stream_blocking_write_and_flush(out, &data, &serr)) {
            fprintf(stderr, "write: stream error\n");
            return 1;
        }
        sockets_list_u8_free(&data);
    }
    return 0;
}
