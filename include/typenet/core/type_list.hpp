// typenet/core/type_list.hpp
// The little type-list toolbox the model fold needs; nothing more.
#pragma once

#include <cstddef>
#include <type_traits>

namespace typenet {

template <class... Ts>
struct TypeList {
    static constexpr std::size_t size = sizeof...(Ts);
};

namespace detail {

template <std::size_t I, class List>
struct type_at;
template <std::size_t I, class T, class... Ts>
struct type_at<I, TypeList<T, Ts...>> : type_at<I - 1, TypeList<Ts...>> {};
template <class T, class... Ts>
struct type_at<0, TypeList<T, Ts...>> {
    using type = T;
};

template <class List>
struct last;
template <class... Ts>
struct last<TypeList<Ts...>> {
    using type = typename type_at<sizeof...(Ts) - 1, TypeList<Ts...>>::type;
};

}  // namespace detail

template <std::size_t I, class List>
using type_at_t = typename detail::type_at<I, List>::type;

template <class List>
using last_t = typename detail::last<List>::type;

}  // namespace typenet
