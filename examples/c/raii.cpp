// A small RAII wrapper over the C API, and a two-node program using it.
//
// Build with CMake against an installed librumour (find_package(rumour)):
//     cmake -S examples/c -B build -DCMAKE_PREFIX_PATH=/usr/local && cmake --build build && ./build/raii
// or with pkg-config:
//     c++ -std=c++17 raii.cpp -o raii $(pkg-config --cflags --libs rumour)
#include <rumour.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace rumour {

// Throws with the library's reason when a call fails.
inline void check(rumour_status status, const char *what) {
    if (status != RUMOUR_OK) throw std::runtime_error(std::string(what) + ": " + rumour_last_error_message());
}

class Node {
  public:
    using Handler = std::function<void(const rumour_event &)>;

    Node(const std::string &name, Handler handler) : handler_(new Handler(std::move(handler))) {
        rumour_config *raw = nullptr;
        check(rumour_config_new("local", &raw), "config");
        std::unique_ptr<rumour_config, decltype(&rumour_config_free)> config(raw, rumour_config_free);
        check(rumour_config_set_string(raw, "name", name.c_str()), "name");
        check(rumour_config_set_string(raw, "bind", "127.0.0.1:0"), "bind");
        check(rumour_config_set_number(raw, "retransmit_mult", 4), "retransmit_mult");
        rumour_node *node = nullptr;
        // The handler is freed by the library, exactly once, after the last event.
        auto status = rumour_node_start(raw, &Node::dispatch, handler_, &Node::release, &node);
        handler_ = nullptr;
        check(status, "start");
        node_.reset(node);
    }

    std::string addr() const { return rumour_node_addr(node_.get()); }
    void join(const std::string &seed) {
        const char *seeds[] = {seed.c_str()};
        check(rumour_node_join(node_.get(), seeds, 1, nullptr), "join");
    }
    void broadcast(const std::string &data) {
        check(rumour_node_broadcast(node_.get(), reinterpret_cast<const uint8_t *>(data.data()), data.size()), "broadcast");
    }
    std::vector<std::string> members() const {
        rumour_members *raw = nullptr;
        check(rumour_node_members(node_.get(), &raw), "members");
        std::unique_ptr<rumour_members, decltype(&rumour_members_free)> snapshot(raw, rumour_members_free);
        std::vector<std::string> names;
        for (size_t i = 0; i < rumour_members_len(raw); i++) {
            rumour_member_view view;
            check(rumour_members_get(raw, i, &view), "member");
            names.emplace_back(view.name);
        }
        return names;
    }

  private:
    static void dispatch(const rumour_event *event, void *user_data) { (*static_cast<Handler *>(user_data))(*event); }
    static void release(void *user_data) { delete static_cast<Handler *>(user_data); }

    Handler *handler_;
    std::unique_ptr<rumour_node, decltype(&rumour_node_free)> node_{nullptr, rumour_node_free};
};

}  // namespace rumour

int main() {
    std::atomic<int> messages{0};
    rumour::Node a("cpp-a", [&](const rumour_event &e) {
        if (e.kind == RUMOUR_EVENT_MESSAGE) {
            std::cout << "cpp-a got: " << std::string(reinterpret_cast<const char *>(e.data), e.data_len) << std::endl;
            messages++;
        }
    });
    rumour::Node b("cpp-b", [](const rumour_event &) {});
    b.join(a.addr());
    b.broadcast("hello from C++");
    for (int i = 0; i < 250 && messages == 0; i++) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::cout << "cpp-a sees " << a.members().size() << " members" << std::endl;
    return messages > 0 ? 0 : 1;
}
