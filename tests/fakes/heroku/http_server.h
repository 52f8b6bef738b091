// An httplib::Server that hands Heroku's Range headers ("id ..; max=1000") to
// the handlers. cpp-httplib 0.11 parses every Range header as a byte range
// before routing and answers 416 itself when it is not one; this server reads
// requests through its own stream, which renames the header on the way in and
// restores it before routing.
#ifndef GRAPHMILL_TESTS_FAKES_HEROKU_HTTP_SERVER_H_
#define GRAPHMILL_TESTS_FAKES_HEROKU_HTTP_SERVER_H_

#include <httplib.h>

namespace graphmill::fakes::heroku {

class HttpServer : public httplib::Server {
 public:
  // The socket of the connection whose request the calling thread is
  // handling, or -1 outside a handler. Lets a handler reset its connection.
  static int CurrentSocket();

 private:
  // Serves up to kMaxRequestsPerConnection keep-alive requests, then closes.
  bool process_and_close_socket(socket_t sock) override;
};

}  // namespace graphmill::fakes::heroku

#endif  // GRAPHMILL_TESTS_FAKES_HEROKU_HTTP_SERVER_H_
