// typenet/model/summary.hpp
// Keras 2's model.summary(), character for character: the same column stops
// (29, 55, 65 for a 65-character line), the same truncation of long fields, the same
// rules, and totals with thousands separators. Also the chapter's table of layers
// with their trainable flags.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <iostream>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

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

// Keras's print_row: each field is cut at its column stop, and a field that ran into
// the stop loses its last character to the separating space.
inline std::string summary_row(const std::array<std::string, 3>& fields, const std::array<std::size_t, 3>& stops) {
    std::string line;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i > 0 && !line.empty()) line.back() = ' ';
        line += fields[i];
        if (line.size() > stops[i]) line.resize(stops[i]);
        line.append(stops[i] - line.size(), ' ');
    }
    return line;
}

}  // namespace detail

// The summary of a model, as Keras 2 prints it (line_length 65).
template <class ModelType>
std::string summary_string(const ModelType& model, std::size_t line_length = 65) {
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
        rows.push_back(detail::summary_row({std::string(L::name.view()) + " (" + std::string(L::keras_type.view()) + ")",
                                            L::output_shape::keras_string(), std::to_string(L::param_count)},
                                           stops));
    });

    std::ostringstream out;
    out << thin << '\n' << detail::summary_row({"Layer (type)", "Output Shape", "Param #"}, stops) << '\n' << thick << '\n';
    for (std::size_t i = 0; i < rows.size(); ++i) out << rows[i] << '\n' << (i + 1 == rows.size() ? thick : thin) << '\n';
    const std::size_t trainable = model.trainable_param_count();
    out << "Total params: " << thousands(ModelType::param_count) << '\n'
        << "Trainable params: " << thousands(trainable) << '\n'
        << "Non-trainable params: " << thousands(ModelType::param_count - trainable) << '\n'
        << thin << '\n';
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
