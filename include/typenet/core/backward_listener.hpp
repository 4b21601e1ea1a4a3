// typenet/core/backward_listener.hpp
// Told, during a model's backward pass, as soon as a layer's parameter gradients are final,
// so that data-parallel training can start averaging them over the network while the
// earlier layers' backward still runs. One listener per thread, set by the trainer for
// the length of its backward call (ListenBackward); none (null) otherwise.
#pragma once

namespace typenet {

class BackwardListener {
public:
    virtual ~BackwardListener() = default;
    // `layer`: the address of the leaf layer whose backward just finished.
    virtual void layer_done(const void* layer) = 0;
};

inline BackwardListener*& backward_listener() {
    thread_local BackwardListener* listener = nullptr;
    return listener;
}

// Sets the thread's listener for a scope.
class ListenBackward {
public:
    explicit ListenBackward(BackwardListener* listener) : previous_(backward_listener()) {
        backward_listener() = listener;
    }
    ~ListenBackward() { backward_listener() = previous_; }
    ListenBackward(const ListenBackward&) = delete;
    ListenBackward& operator=(const ListenBackward&) = delete;

private:
    BackwardListener* previous_;
};

}  // namespace typenet
