// typenet/core/backward_listener.hpp
// Told, during a model's backward pass, as soon as a layer's parameter gradients are final,
// so that data-parallel training can start averaging them over the network while the
// earlier layers' backward still runs. One listener per thread, set by the trainer for
// the length of its backward call (ListenBackward); none (null) otherwise.
#pragma once

#include "typenet/core/scoped_hook.hpp"

namespace typenet {

class BackwardListener {
public:
    virtual ~BackwardListener() = default;
    // `layer`: the address of the leaf layer whose backward just finished.
    virtual void layer_done(const void* layer) = 0;
};

inline BackwardListener*& backward_listener() { return current_hook<BackwardListener>(); }

// Sets the thread's listener for a scope.
using ListenBackward = ScopedHook<BackwardListener>;

}  // namespace typenet
