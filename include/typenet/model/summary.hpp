// typenet/model/summary.hpp
// Keras 2's model.summary(), character for character: the same column stops
// (29, 55, 65 for a 65-character line), the same truncation of long fields, the same
// rules, and totals with thousands separators. Also the chapter's table of layers
// with their trainable flags.
//
// A Model with branches that merge (Add / Concatenate blocks, model/block.hpp) prints
// Keras 2's functional layout instead, as Keras does for a graph that is not a line: a
// 98-character line with stops at 32, 53, 65 and a "Connected to" column
// ("conv1_pad[0][0]"; a merge lists each inbound layer on a line of its own). Its rows
// follow Keras's order: within a block, layers farther from the merge first (Keras
// sorts a graph's layers by their depth), ties in branch order, then the merge layer.
// A Sequential keeps the plain layout, as Keras's Sequential always does.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <iostream>
#include <numeric>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "typenet/core/type_list.hpp"
#include "typenet/layers/layer.hpp"

namespace typenet {

// 19024513 -> "19,024,513", as Python's '{:,}'.format.
inline std::string thousands(std::size_t value) {
    std::string digits = std::to_string(value);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

namespace detail {

// The three counts under a summary's table, then its closing line.
template <class ModelType>
void summary_totals(std::ostream& out, const ModelType& model, const std::string& thin) {
    const std::size_t trainable = model.trainable_param_count();
    out << "Total params: " << thousands(ModelType::param_count) << '\n'
        << "Trainable params: " << thousands(trainable) << '\n'
        << "Non-trainable params: " << thousands(ModelType::param_count - trainable) << '\n'
        << thin << '\n';
}

// Keras's print_row: each field is cut at its column stop, and a field that ran into
// the stop loses its last character to the separating space.
template <std::size_t N>
std::string summary_row(const std::array<std::string, N>& fields, const std::array<std::size_t, N>& stops) {
    std::string line;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i > 0 && !line.empty()) line.back() = ' ';
        line += fields[i];
        if (line.size() > stops[i]) line.resize(stops[i]);
        line.append(stops[i] - line.size(), ' ');
    }
    return line;
}

inline std::string summary_row(const std::array<std::string, 3>& fields, const std::array<std::size_t, 3>& stops) {
    return summary_row<3>(fields, stops);
}

// "conv1_conv (Conv2D)", a row's first field.
inline std::string layer_and_type(std::string_view name, std::string_view keras_type) {
    return std::string(name) + " (" + std::string(keras_type) + ")";
}

// A row of the plain layout. The walks below call one function per layer with the layer's
// values, rather than building strings in code instantiated for every layer type.
inline std::string summary_layer_row(std::string_view name, std::string_view keras_type, std::string shape,
                                     std::size_t params, const std::array<std::size_t, 3>& stops) {
    return summary_row({layer_and_type(name, keras_type), std::move(shape), std::to_string(params)}, stops);
}

template <class... L>
constexpr bool any_block(const TypeList<L...>*) {
    return (is_block_v<L> || ...);
}

// One row of the functional layout: "name (Class)", shape, parameters, inbound layers.
struct ConnectedRow {
    std::string layer, shape, params;
    std::vector<std::string> inbound;
};

// Appends a layer's row fed by `input`, which becomes the layer's name.
inline void connect_layer(std::vector<ConnectedRow>& rows, std::string& input, std::string_view name,
                          std::string_view keras_type, std::string shape, std::size_t params) {
    rows.push_back({layer_and_type(name, keras_type), std::move(shape), std::to_string(params), {input}});
    input = std::string(name);
}

template <class Block>
std::string connect_block(const Block& block, const std::string& input, std::vector<ConnectedRow>& rows);

// The rows of a chain's layers fed by `input`; returns the name of its last layer.
template <class ChainType>
std::string connect_chain(const ChainType& chain, std::string input, std::vector<ConnectedRow>& rows) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (
            [&] {
                const auto& layer = chain.template layer<I>();
                using L = std::remove_cvref_t<decltype(layer)>;
                if constexpr (is_block_v<L>) {
                    input = connect_block(layer, input, rows);
                } else {
                    connect_layer(rows, input, L::name.view(), L::keras_type.view(), L::output_shape::keras_string(),
                                  L::param_count);
                }
            }(),
            ...);
    }(std::make_index_sequence<ChainType::layer_count>{});
    return input;
}

// A block's branches, ordered as Keras orders a graph's layers (deepest first: farther
// from the merge first, ties in branch order), then its merge layer fed by every branch.
template <class Block>
std::string connect_block(const Block& block, const std::string& input, std::vector<ConnectedRow>& rows) {
    std::vector<ConnectedRow> inner;
    std::vector<std::pair<std::size_t, std::size_t>> keys;  // (distance to the merge, branch)
    std::vector<std::string> ends;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (
            [&] {
                const auto& branch = block.template branch<I>();
                if constexpr (std::remove_cvref_t<decltype(branch)>::identity) {
                    ends.push_back(input);
                } else {
                    std::vector<ConnectedRow> mine;
                    ends.push_back(connect_chain(branch, input, mine));
                    for (std::size_t k = 0; k < mine.size(); ++k) {
                        keys.emplace_back(mine.size() - k, I);
                        inner.push_back(std::move(mine[k]));
                    }
                }
            }(),
            ...);
    }(std::make_index_sequence<Block::branch_count>{});
    std::vector<std::size_t> order(inner.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    // A total order (the row's place last), so plain sort is stable here; std::stable_sort
    // draws a deprecation warning from clang 19 on libstdc++ 12.
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (keys[a].first != keys[b].first) return keys[a].first > keys[b].first;
        if (keys[a].second != keys[b].second) return keys[a].second < keys[b].second;
        return a < b;
    });
    for (std::size_t i : order) rows.push_back(std::move(inner[i]));
    rows.push_back({layer_and_type(Block::name.view(), Block::keras_type.view()), Block::output_shape::keras_string(),
                    "0", ends});
    return std::string(Block::name.view());
}

template <class ModelType>
std::string functional_summary_string(const ModelType& model, std::size_t line_length) {
    const std::array<std::size_t, 4> stops{
        static_cast<std::size_t>(line_length * 0.33), static_cast<std::size_t>(line_length * 0.55),
        static_cast<std::size_t>(line_length * 0.67), line_length};
    std::vector<ConnectedRow> rows;
    rows.push_back({"input_1 (InputLayer)", ModelType::input_shape::keras_string(), "0", {}});
    connect_chain(model, "input_1", rows);

    const std::string thin(line_length, '_'), thick(line_length, '=');
    std::ostringstream out;
    out << thin << '\n'
        << summary_row<4>({"Layer (type)", "Output Shape", "Param #", "Connected to"}, stops) << '\n'
        << thick << '\n';
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& row = rows[i];
        out << summary_row<4>({row.layer, row.shape, row.params, row.inbound.empty() ? "" : row.inbound[0] + "[0][0]"},
                              stops)
            << '\n';
        for (std::size_t k = 1; k < row.inbound.size(); ++k)
            out << summary_row<4>({"", "", "", row.inbound[k] + "[0][0]"}, stops) << '\n';
        out << (i + 1 == rows.size() ? thick : thin) << '\n';
    }
    detail::summary_totals(out, model, thin);
    return out.str();
}

}  // namespace detail

// The summary of a model, as Keras 2 prints it (line_length 65; 98 for the functional
// layout of a Model with blocks).
template <class ModelType>
std::string summary_string(const ModelType& model, std::size_t line_length = 0) {
    if constexpr (ModelType::kind::shows_input_layer &&
                  detail::any_block(static_cast<const typename ModelType::layer_list*>(nullptr)))
        return detail::functional_summary_string(model, line_length == 0 ? 98 : line_length);
    if (line_length == 0) line_length = 65;
    const std::array<std::size_t, 3> stops{static_cast<std::size_t>(line_length * 0.45),
                                           static_cast<std::size_t>(line_length * 0.85), line_length};
    const std::string thin(line_length, '_'), thick(line_length, '=');
    std::vector<std::string> rows;
    if constexpr (ModelType::kind::shows_input_layer)
        rows.push_back(detail::summary_row(
            {"input_1 (InputLayer)", ModelType::input_shape::keras_string(), "0"}, stops));
    model.for_each_layer([&](const auto& layer, int depth) {
        if (depth != 0) return;  // nested models show as one row, as in Keras
        using L = std::remove_cvref_t<decltype(layer)>;
        rows.push_back(detail::summary_layer_row(L::name.view(), L::keras_type.view(), L::output_shape::keras_string(),
                                                 L::param_count, stops));
    });

    std::ostringstream out;
    out << thin << '\n' << detail::summary_row({"Layer (type)", "Output Shape", "Param #"}, stops) << '\n' << thick << '\n';
    for (std::size_t i = 0; i < rows.size(); ++i) out << rows[i] << '\n' << (i + 1 == rows.size() ? thick : thin) << '\n';
    detail::summary_totals(out, model, thin);
    return out.str();
}

// The chapter's "Layer Type / Layer Name / Layer Trainable" table, one row per layer
// (nested models listed through), as its pandas frame shows them.
template <class ModelType>
std::string trainable_table_string(const ModelType& model) {
    std::vector<std::array<std::string, 3>> rows;
    if constexpr (ModelType::kind::shows_input_layer) rows.push_back({"InputLayer", "input_1", "False"});
    model.for_each_layer([&](const auto& layer, int) {
        using L = std::remove_cvref_t<decltype(layer)>;
        if constexpr (!L::is_model)
            rows.push_back({std::string(L::keras_type.view()), std::string(L::name.view()), layer.trainable ? "True" : "False"});
    });
    std::array<std::size_t, 3> width{10, 10, 15};  // at least the headers
    for (const auto& row : rows)
        for (std::size_t i = 0; i < 3; ++i) width[i] = std::max(width[i], row[i].size());
    std::ostringstream out;
    auto line = [&](const std::array<std::string, 3>& row) {
        for (std::size_t i = 0; i < 3; ++i) out << row[i] << std::string(width[i] - row[i].size() + (i < 2 ? 2 : 0), ' ');
        out << '\n';
    };
    line({"Layer Type", "Layer Name", "Layer Trainable"});
    for (const auto& row : rows) line(row);
    std::string text = out.str();
    // No trailing blanks on the lines.
    std::string trimmed;
    std::istringstream lines(text);
    for (std::string l; std::getline(lines, l);) {
        while (!l.empty() && l.back() == ' ') l.pop_back();
        trimmed += l + '\n';
    }
    return trimmed;
}

}  // namespace typenet
