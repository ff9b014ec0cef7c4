#pragma once
// Drives a program in a real terminal: a detached tmux session, keys sent with send-keys and the
// screen read with capture-pane, as a person would see it.

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

#include "run_command.h"

namespace vkgraph::testing {

class TmuxSession {
 public:
  // Starts `command` in a new session; `name` must be unique among concurrently running tests.
  TmuxSession(std::string name, const std::string& command) : name_(std::move(name)) {
    std::system(("tmux kill-session -t " + name_ + " 2>/dev/null").c_str());
    const std::string start =
        "tmux new-session -d -s " + name_ + " -x 160 -y 50 " + shell_quote(command + "; echo \"[exit $?]\"; sleep 600");
    available_ = std::system(start.c_str()) == 0;
  }
  ~TmuxSession() { std::system(("tmux kill-session -t " + name_ + " 2>/dev/null").c_str()); }

  bool available() const { return available_; }
  void type(const std::string& text) { keys("-l " + shell_quote(text)); }
  void press(const std::string& key) { keys(key); }  // "Enter", "C-c", "C-d"
  // Types a line and presses Enter, as a user sends a message or a command.
  void send_line(const std::string& text) {
    type(text);
    press("Enter");
  }
  // Pastes raw bytes, as a terminal paste would deliver them (any bytes, any length).
  void paste(const std::string& bytes) {
    const std::string file = "/tmp/vkgraph-tmux-paste-" + name_;
    std::ofstream(file, std::ios::binary) << bytes;
    std::system(("tmux load-buffer -b " + name_ + " " + file + " && tmux paste-buffer -d -b " + name_ + " -t " + name_)
                    .c_str());
    std::remove(file.c_str());
  }

  std::string screen() const {
    const std::string file = "/tmp/vkgraph-tmux-" + name_ + ".txt";
    std::system(("tmux capture-pane -p -J -S -200 -t " + name_ + " > " + file).c_str());
    std::ifstream f(file);
    std::stringstream s;
    s << f.rdbuf();
    std::remove(file.c_str());
    return s.str();
  }
  // Polls the screen until `done` holds or `seconds` pass; returns whether it held.
  bool wait_for(const std::function<bool(const std::string&)>& done, double seconds) const {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
      if (done(screen())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return done(screen());
  }
  bool wait_for_text(const std::string& text, double seconds) const {
    return wait_for([&](const std::string& s) { return s.find(text) != std::string::npos; }, seconds);
  }

 private:
  void keys(const std::string& args) { std::system(("tmux send-keys -t " + name_ + " " + args).c_str()); }
  std::string name_;
  bool available_ = false;
};

inline size_t count_of(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

}  // namespace vkgraph::testing
