// A terminal app with its own event loop (poll() on the keyboard and on a pipe) that streams a
// completion from a worker thread and cancels it on a key press: the pattern a desktop app
// uses with its GUI loop.
//
//   stream_tui [model.gguf]     type a prompt, Enter generates; Esc cancels; Ctrl-D quits.

#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <vkgraph.hpp>

namespace {

// Pieces go from the worker to the loop through a mutex-guarded string; a byte on the pipe wakes
// the loop (as a GUI toolkit's "post an event" would).
struct Mailbox {
  std::mutex mutex;
  std::string text;
  bool finished = false;
  vkgraph_stop_reason stop{};
  int wake[2] = {-1, -1};

  void post(std::string_view piece, bool done, vkgraph_stop_reason why = {}) {
    {
      std::lock_guard lock(mutex);
      text += piece;
      if (done) {
        finished = true;
        stop = why;
      }
    }
    const char byte = 1;
    (void)!write(wake[1], &byte, 1);
  }
};

struct RawTerminal {
  termios saved{};
  RawTerminal() {
    tcgetattr(STDIN_FILENO, &saved);
    termios raw = saved;
    raw.c_lflag &= ~tcflag_t(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  }
  ~RawTerminal() { tcsetattr(STDIN_FILENO, TCSANOW, &saved); }
};

const char* reason(vkgraph_stop_reason stop) {
  switch (stop) {
    case VKGRAPH_STOP_CANCELLED:
      return "cancelled";
    case VKGRAPH_STOP_EOG:
      return "end of text";
    case VKGRAPH_STOP_CONTEXT_FULL:
      return "context full";
    default:
      return "token limit";
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    vkgraph::cpp::Model model(argc > 1 ? argv[1] : "");
    vkgraph::cpp::Context context(model);
    vkgraph::cpp::Sampler sampler;
    Mailbox mailbox;
    if (pipe(mailbox.wake) != 0) return 1;
    const bool tty = isatty(STDIN_FILENO) != 0;
    std::unique_ptr<RawTerminal> raw = tty ? std::make_unique<RawTerminal>() : nullptr;

    std::string line;
    std::thread worker;
    bool generating = false;
    std::printf("prompt> ");
    std::fflush(stdout);
    for (;;) {
      pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {mailbox.wake[0], POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents & POLLIN) {  // news from the worker
        char drain[64];
        (void)!read(mailbox.wake[0], drain, sizeof drain);
        std::lock_guard lock(mailbox.mutex);
        std::fputs(mailbox.text.c_str(), stdout);
        mailbox.text.clear();
        if (mailbox.finished) {
          std::printf("\n[%s]\nprompt> ", reason(mailbox.stop));
          mailbox.finished = false;
          generating = false;
          worker.join();
        }
        std::fflush(stdout);
      }
      if (fds[0].revents & (POLLIN | POLLHUP)) {
        char c = 0;
        if (read(STDIN_FILENO, &c, 1) <= 0 || c == 4) {  // end of input or Ctrl-D
          if (generating) {
            if (!tty) {  // piped input: let the last generation finish
              worker.join();
              std::lock_guard lock(mailbox.mutex);
              std::fputs(mailbox.text.c_str(), stdout);
              std::printf("\n[%s]\n", reason(mailbox.stop));
              break;
            }
            context.cancel();
            worker.join();
          }
          break;
        }
        if (generating) {
          if (c == 27) context.cancel();  // Esc: the worker stops before its next token
          continue;
        }
        if (c == '\n' && !line.empty()) {
          if (tty) std::putchar('\n');
          context.reset();
          const auto prompt = model.tokenize(line);
          std::fputs(line.c_str(), stdout);
          std::fflush(stdout);
          line.clear();
          generating = true;
          worker = std::thread([&, prompt] {
            vkgraph_stop_reason stop{};
            try {
              stop = context.generate(sampler, prompt, [&](std::string_view piece) {
                mailbox.post(piece, false);
                return true;
              });
            } catch (const std::exception& e) {
              mailbox.post(std::string("\nerror: ") + e.what(), false);
            }
            mailbox.post("", true, stop);
          });
        } else if (c == 127 && !line.empty()) {
          line.pop_back();
          if (tty) std::fputs("\b \b", stdout);
        } else if (c >= 32) {
          line += c;
          if (tty) std::putchar(c);
        }
        std::fflush(stdout);
      }
    }
    if (worker.joinable()) worker.join();
    std::printf("\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stream_tui: %s\n", e.what());
    return 1;
  }
}
