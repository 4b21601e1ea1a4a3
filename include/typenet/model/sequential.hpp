// typenet/model/sequential.hpp
// The names users write:
//
//   using BasicCNN = Sequential<Input<150, 150, 3>, Conv2D<16, 3, ReLU>, ..., Dense<1, Sigmoid>>;
//   BasicCNN model;                 // on the CPU, initialised from default_seed
//   BasicCNN model{7};              // seeded
//   on<cuda, BasicCNN> gpu_model;   // the same network on an NVIDIA GPU
//
// Sequential prints like Keras's Sequential; Model<"name", ...> like a functional
// Keras Model (an InputLayer row, a fixed name), as Keras's applications (VGG16) do.
// Either nests inside another model as one layer.
#pragma once

#include <cstdint>

#include "typenet/backend/cpu/kernels.hpp"  // Sequential and Model run on the CPU unless moved
#include "typenet/core/device.hpp"
#include "typenet/core/fixed_string.hpp"
#include "typenet/model/chain.hpp"
#include "typenet/model/fold.hpp"
#include "typenet/model/summary.hpp"

namespace typenet {

namespace detail {
// The shared face of Sequential and Model as layer specs.
template <class Kind, FixedString ExplicitName, class InputSpec, class... Specs>
struct ChainSpec {
    static constexpr FixedString auto_prefix = Kind::auto_prefix;
    static constexpr FixedString explicit_name = ExplicitName;

    template <class In, class Device, FixedString Name>
    using bind = ChainLayer<In, Device, Name, Kind, InputSpec, flatten_specs_t<Specs...>>;

    // The same network on another device.
    template <class Device>
    using on_device =
        Chain<Device, Kind, ExplicitName.empty() ? indexed_name(Kind::auto_prefix, 1) : ExplicitName, InputSpec,
              flatten_specs_t<Specs...>>;
};

// What Sequential and Model are: the spec (to nest it in another model) and the same
// network on the CPU (to run it).
template <class Kind, FixedString ExplicitName, class InputSpec, class... Specs>
class ChainModel : public ChainSpec<Kind, ExplicitName, InputSpec, Specs...>,
                   public ChainSpec<Kind, ExplicitName, InputSpec, Specs...>::template on_device<cpu> {
    using runtime = typename ChainSpec<Kind, ExplicitName, InputSpec, Specs...>::template on_device<cpu>;

public:
    using runtime::runtime;
    using runtime::name;
    static constexpr bool is_model = true;
};
}  // namespace detail

template <class InputSpec, class... Specs>
class Sequential : public detail::ChainModel<SequentialKind, "", InputSpec, Specs...> {
public:
    using detail::ChainModel<SequentialKind, "", InputSpec, Specs...>::ChainModel;
};

template <FixedString Name, class InputSpec, class... Specs>
class Model : public detail::ChainModel<ModelKind, Name, InputSpec, Specs...> {
public:
    using detail::ChainModel<ModelKind, Name, InputSpec, Specs...>::ChainModel;
};

// A model type on a device: on<cuda, BasicCNN> (needs typenet/backend/cuda/kernels.cuh).
template <class Device, class ModelType>
using on = typename ModelType::template on_device<Device>;

}  // namespace typenet
