// wit-world: service
// A 0.2 wasi:http/service whose handler is an HTTP client: it sends the same
// method, path and body to the server at $HTTP_SERVER_MAIN (`127.0.0.1:PORT`,
// a server that the spec's `servers` declares) through
// wasi:http/outgoing-handler, and answers with the upstream status and
// "upstream STATUS: BODY". If the outgoing request fails it answers 502
// "upstream error: ERROR-CODE\n"; without $HTTP_SERVER_MAIN, 500.
#include "http-util.h"

static const char *error_name(const wasi_http_types_error_code_t *e) {
    switch (e->tag) {
    case WASI_HTTP_TYPES_ERROR_CODE_DNS_TIMEOUT: return "DNS-timeout";
    case WASI_HTTP_TYPES_ERROR_CODE_DNS_ERROR: return "DNS-error";
    case WASI_HTTP_TYPES_ERROR_CODE_DESTINATION_NOT_FOUND: return "destination-not-found";
    case WASI_HTTP_TYPES_ERROR_CODE_DESTINATION_UNAVAILABLE: return "destination-unavailable";
    case WASI_HTTP_TYPES_ERROR_CODE_DESTINATION_IP_PROHIBITED: return "destination-IP-prohibited";
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_REFUSED: return "connection-refused";
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_TERMINATED: return "connection-terminated";
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_TIMEOUT: return "connection-timeout";
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_PROTOCOL_ERROR: return "HTTP-protocol-error";
    case WASI_HTTP_TYPES_ERROR_CODE_INTERNAL_ERROR: return "internal-error";
    default: return "other error";
    }
}

void exports_wasi_http_incoming_handler_handle(
    exports_wasi_http_incoming_handler_own_incoming_request_t request,
    exports_wasi_http_incoming_handler_own_response_outparam_t outparam) {
    const char *upstream = getenv("HTTP_SERVER_MAIN");
    if (!upstream) {
        respond_text(outparam, 500, "HTTP_SERVER_MAIN is not set\n");
        wasi_http_types_incoming_request_drop_own(request);
        return;
    }
    wasi_http_types_borrow_incoming_request_t req = wasi_http_types_borrow_incoming_request(request);
    wasi_http_types_method_t method;
    wasi_http_types_method_incoming_request_method(req, &method);
    char *path = request_path(req);
    wasi_http_types_own_incoming_body_t in_body;
    if (!wasi_http_types_method_incoming_request_consume(req, &in_body)) abort();
    bytes_t payload = read_body(in_body);
    wasi_http_types_incoming_request_drop_own(request);

    // The outgoing request: METHOD http://$HTTP_SERVER_MAIN/PATH with the body.
    wasi_http_types_own_outgoing_request_t out_req =
        wasi_http_types_constructor_outgoing_request(wasi_http_types_constructor_fields());
    wasi_http_types_borrow_outgoing_request_t o = wasi_http_types_borrow_outgoing_request(out_req);
    wasi_http_types_method_outgoing_request_set_method(o, &method);
    wasi_http_types_scheme_t scheme = {.tag = WASI_HTTP_TYPES_SCHEME_HTTP};
    wasi_http_types_method_outgoing_request_set_scheme(o, &scheme);
    service_string_t authority, path_with_query;
    service_string_set(&authority, upstream);
    service_string_set(&path_with_query, path);
    wasi_http_types_method_outgoing_request_set_authority(o, &authority);
    wasi_http_types_method_outgoing_request_set_path_with_query(o, &path_with_query);
    wasi_http_types_own_outgoing_body_t out_body;
    if (!wasi_http_types_method_outgoing_request_body(o, &out_body)) abort();
    wasi_io_streams_own_output_stream_t out_stream;
    if (!wasi_http_types_method_outgoing_body_write(
            wasi_http_types_borrow_outgoing_body(out_body), &out_stream))
        abort();

    wasi_http_outgoing_handler_own_future_incoming_response_t future;
    wasi_http_types_error_code_t err;
    if (!wasi_http_outgoing_handler_handle(out_req, NULL, &future, &err)) {
        char text[100];
        snprintf(text, sizeof text, "upstream error: %s\n", error_name(&err));
        respond_text(outparam, 502, text);
        return;
    }
    write_all(wasi_io_streams_borrow_output_stream(out_stream), payload.ptr, payload.len);
    wasi_io_streams_output_stream_drop_own(out_stream);
    wasi_http_types_static_outgoing_body_finish(out_body, NULL, &err);

    // Wait for the response.
    wasi_http_types_borrow_future_incoming_response_t f =
        wasi_http_types_borrow_future_incoming_response(future);
    wasi_http_types_result_result_own_incoming_response_error_code_void_t got;
    while (!wasi_http_types_method_future_incoming_response_get(f, &got)) {
        wasi_io_poll_own_pollable_t p = wasi_http_types_method_future_incoming_response_subscribe(f);
        wasi_io_poll_method_pollable_block(wasi_io_poll_borrow_pollable(p));
        wasi_io_poll_pollable_drop_own(p);
    }
    if (got.is_err) abort();  // the response was already taken: cannot happen
    if (got.val.ok.is_err) {
        char text[100];
        snprintf(text, sizeof text, "upstream error: %s\n", error_name(&got.val.ok.val.err));
        respond_text(outparam, 502, text);
        return;
    }
    wasi_http_types_own_incoming_response_t response = got.val.ok.val.ok;
    wasi_http_types_borrow_incoming_response_t r = wasi_http_types_borrow_incoming_response(response);
    uint16_t status = wasi_http_types_method_incoming_response_status(r);
    wasi_http_types_own_incoming_body_t body;
    if (!wasi_http_types_method_incoming_response_consume(r, &body)) abort();
    bytes_t data = read_body(body);
    wasi_http_types_incoming_response_drop_own(response);
    wasi_http_types_future_incoming_response_drop_own(future);

    char head[40];
    int n = snprintf(head, sizeof head, "upstream %u: ", status);
    bytes_t text = {0};
    bytes_append(&text, (const uint8_t *)head, (size_t)n);
    bytes_append(&text, data.ptr, data.len);
    respond(outparam, status, text.ptr, text.len);
    free(text.ptr);
    free(data.ptr);
    free(payload.ptr);
    free(path);
}
