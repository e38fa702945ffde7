// wit-world: service
// A 0.2 wasi:http/service (exports wasi:http/incoming-handler): GET / answers
// 200 "hello\n", POST /echo answers 200 with the request body, anything else
// 404 "not found: METHOD PATH\n". Every answer is text/plain.
#include "http-util.h"

void exports_wasi_http_incoming_handler_handle(
    exports_wasi_http_incoming_handler_own_incoming_request_t request,
    exports_wasi_http_incoming_handler_own_response_outparam_t outparam) {
    wasi_http_types_borrow_incoming_request_t req = wasi_http_types_borrow_incoming_request(request);
    wasi_http_types_method_t method;
    wasi_http_types_method_incoming_request_method(req, &method);
    char *path = request_path(req);

    if (method.tag == WASI_HTTP_TYPES_METHOD_GET && strcmp(path, "/") == 0) {
        respond_text(outparam, 200, "hello\n");
    } else if (method.tag == WASI_HTTP_TYPES_METHOD_POST && strcmp(path, "/echo") == 0) {
        wasi_http_types_own_incoming_body_t body;
        if (!wasi_http_types_method_incoming_request_consume(req, &body)) abort();
        bytes_t data = read_body(body);
        respond(outparam, 200, data.ptr, data.len);
        free(data.ptr);
    } else {
        const char *m = method.tag == WASI_HTTP_TYPES_METHOD_GET    ? "GET"
                        : method.tag == WASI_HTTP_TYPES_METHOD_POST ? "POST"
                                                                    : "other";
        char text[300];
        snprintf(text, sizeof text, "not found: %s %s\n", m, path);
        respond_text(outparam, 404, text);
    }
    free(path);
    wasi_http_types_incoming_request_drop_own(request);
}
