// Helpers for the wasi:http test services: "service.h" is the header that
// wit-bindgen generates for the `service` world of scripts/wit/net.wit.
#ifndef HTTP_UTIL_H
#define HTTP_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"

typedef wasi_http_types_own_incoming_request_t own_request_t;
typedef wasi_http_types_own_response_outparam_t own_outparam_t;

// A growable byte buffer.
typedef struct {
    uint8_t *ptr;
    size_t len;
} bytes_t;

static void bytes_append(bytes_t *b, const uint8_t *data, size_t len) {
    b->ptr = realloc(b->ptr, b->len + len + 1);
    if (!b->ptr) abort();
    memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = 0;
}

// Reads an input stream to its end.
static bytes_t read_all(wasi_io_streams_own_input_stream_t stream) {
    bytes_t out = {0};
    bytes_append(&out, (const uint8_t *)"", 0);
    wasi_io_streams_borrow_input_stream_t in = wasi_io_streams_borrow_input_stream(stream);
    for (;;) {
        service_list_u8_t chunk;
        wasi_io_streams_stream_error_t err;
        if (!wasi_io_streams_method_input_stream_blocking_read(in, 65536, &chunk, &err)) break;
        bytes_append(&out, chunk.ptr, chunk.len);
        service_list_u8_free(&chunk);
    }
    wasi_io_streams_input_stream_drop_own(stream);
    return out;
}

// Reads an incoming body to its end (the trailers are ignored).
static bytes_t read_body(wasi_http_types_own_incoming_body_t body) {
    wasi_io_streams_own_input_stream_t stream;
    bytes_t out = {0};
    if (wasi_http_types_method_incoming_body_stream(
            wasi_http_types_borrow_incoming_body(body), &stream)) {
        out = read_all(stream);
    } else {
        bytes_append(&out, (const uint8_t *)"", 0);
    }
    wasi_http_types_own_future_trailers_t trailers = wasi_http_types_static_incoming_body_finish(body);
    wasi_http_types_future_trailers_drop_own(trailers);
    return out;
}

// Writes all of `len` bytes to an output stream, 4096 at a time (the most
// blocking-write-and-flush takes at once).
static int write_all(wasi_io_streams_borrow_output_stream_t out, const uint8_t *data, size_t len) {
    while (len > 0) {
        size_t n = len < 4096 ? len : 4096;
        service_list_u8_t chunk = {(uint8_t *)data, n};
        wasi_io_streams_stream_error_t err;
        if (!wasi_io_streams_method_output_stream_blocking_write_and_flush(out, &chunk, &err))
            return -1;
        data += n;
        len -= n;
    }
    return 0;
}

// Answers with `status`, a text/plain content type and `body`.
static void respond(own_outparam_t outparam, uint16_t status, const uint8_t *body, size_t len) {
    wasi_http_types_own_fields_t headers = wasi_http_types_constructor_fields();
    wasi_http_types_field_name_t name;
    service_string_set(&name, "content-type");
    wasi_http_types_field_value_t value = {(uint8_t *)"text/plain", strlen("text/plain")};
    wasi_http_types_header_error_t herr;
    wasi_http_types_method_fields_append(wasi_http_types_borrow_fields(headers), &name, &value, &herr);

    wasi_http_types_own_outgoing_response_t response =
        wasi_http_types_constructor_outgoing_response(headers);
    wasi_http_types_borrow_outgoing_response_t r = wasi_http_types_borrow_outgoing_response(response);
    wasi_http_types_method_outgoing_response_set_status_code(r, status);
    wasi_http_types_own_outgoing_body_t body_res;
    if (!wasi_http_types_method_outgoing_response_body(r, &body_res)) abort();
    wasi_io_streams_own_output_stream_t stream;
    if (!wasi_http_types_method_outgoing_body_write(
            wasi_http_types_borrow_outgoing_body(body_res), &stream))
        abort();

    // Send the head first, then stream the body.
    wasi_http_types_result_own_outgoing_response_error_code_t result;
    result.is_err = false;
    result.val.ok = response;
    wasi_http_types_static_response_outparam_set(outparam, &result);

    write_all(wasi_io_streams_borrow_output_stream(stream), body, len);
    wasi_io_streams_output_stream_drop_own(stream);
    wasi_http_types_error_code_t err;
    wasi_http_types_static_outgoing_body_finish(body_res, NULL, &err);
}

static void respond_text(own_outparam_t outparam, uint16_t status, const char *text) {
    respond(outparam, status, (const uint8_t *)text, strlen(text));
}

// The request's path with query ("" if it has none); free() it.
static char *request_path(wasi_http_types_borrow_incoming_request_t req) {
    service_string_t p;
    if (!wasi_http_types_method_incoming_request_path_with_query(req, &p)) return strdup("");
    char *s = strndup((const char *)p.ptr, p.len);
    service_string_free(&p);
    return s;
}

#endif
