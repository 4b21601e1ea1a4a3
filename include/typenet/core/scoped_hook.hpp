// typenet/core/scoped_hook.hpp
// A per-thread hook that a caller sets for a scope and library code consults: the way the
// data-parallel trainer reaches into a step without the layers knowing about MPI.
//
//   struct Hook { virtual void call() = 0; };
//   if (Hook* h = current_hook<Hook>()) h->call();     // in library code: nullptr when unset
//   { ScopedHook<Hook> set(&my_hook); model.step(); }  // in the caller: set, then restored
//
// Thread-local, because two models may train on two threads; scopes nest and restore the
// previous hook on exit.
#pragma once

namespace typenet {

template <class Hook>
Hook*& current_hook() {
    thread_local Hook* hook = nullptr;
    return hook;
}

template <class Hook>
class ScopedHook {
public:
    explicit ScopedHook(Hook* hook) : previous_(current_hook<Hook>()) { current_hook<Hook>() = hook; }
    ~ScopedHook() { current_hook<Hook>() = previous_; }
    ScopedHook(const ScopedHook&) = delete;
    ScopedHook& operator=(const ScopedHook&) = delete;

private:
    Hook* previous_;
};

}  // namespace typenet
