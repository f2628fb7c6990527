# End-to-end tests: dlc against ONNX Runtime (the oracle, from npm: scripts/setup-oracle.sh).
#
# Flow, as ctest fixtures (each step runs once, later runs skip what is up to date):
#   e2e/setup/oracle      install onnxruntime-node into tests/node_modules
#   e2e/setup/gen_ops     tests/e2e/gen_op_models.py   -> build/tests/e2e/ops/<case>/
#   e2e/setup/gen_torch   tests/e2e/gen_torch_models.py -> build/tests/e2e/torch/<model>/
#   e2e/setup/ref_*       tests/e2e/ort_refs.mjs: ONNX Runtime outputs -> <case>/ref/
# then one test per case: `dlc run` on the case's inputs, compared with ref/ by compare.py
# (tests/e2e/e2e_case.py check). Tolerances: rtol 1e-3 atol 1e-4, integers and bools exact;
# per-case overrides live in the generators next to the model (meta.json), with the reason.
# Every test here has the label "e2e": `ctest -L e2e`.
#
# The case lists are static (ctest needs them at configure time); e2e/setup/list_sync fails
# when they drift from the generators' --list.

set(DLC_E2E_PYTHON /usr/bin/python3 CACHE FILEPATH "Python with onnx, numpy, torch, torchvision for the e2e model generators")
find_program(DLC_E2E_NODE node)
execute_process(COMMAND ${DLC_E2E_PYTHON} -c "import onnx, numpy"
                RESULT_VARIABLE _dlc_e2e_py_ok OUTPUT_QUIET ERROR_QUIET)
if(NOT DLC_E2E_NODE OR NOT _dlc_e2e_py_ok EQUAL 0)
  message(WARNING "e2e tests disabled: need node and ${DLC_E2E_PYTHON} with onnx and numpy")
  return()
endif()

set(E2E_SRC ${CMAKE_SOURCE_DIR}/tests/e2e)
set(E2E_DIR ${CMAKE_BINARY_DIR}/tests/e2e)
set(E2E_CASE ${DLC_E2E_PYTHON} ${E2E_SRC}/e2e_case.py)
set(E2E_DLC $<TARGET_FILE:dlc>)

set(DLC_E2E_OP_CASES
  relu leakyrelu sigmoid hardsigmoid tanh exp log sqrt erf neg abs reciprocal floor ceil
  softplus elu selu sin cos tan sign identity round isnan isinf isinf_pos_only not
  dropout_inference dropout_mask relu_i32_opset14 gelu_erf_composition add_same add_bcast
  add_bcast2 add_scalar add_lhs_bcast sub_same sub_bcast2 mul_same mul_bcast2 div_same
  div_bcast2 add_const_weight pow pow_square_const pow_int_exponent max_variadic min_variadic
  max_single sum_variadic mean_variadic mod_fmod_f32 mod_i32 mod_fmod_i64 equal_f32 equal_i64
  less_f32 less_i64 greater_f32 greater_i64 lessorequal_f32 lessorequal_i64
  greaterorequal_f32 greaterorequal_i64 equal_bool and or where where_bcast_i64 clip_min_max
  clip_min_only clip_max_only clip_none clip_runtime_bounds clip_opset6_attrs clip_i32
  add_f32 sub_f32 mul_f32 div_f32 max_f32 min_f32 add_f64 sub_f64 mul_f64 div_f64 max_f64
  min_f64 equal_f64 less_f64 neg_f64 abs_f64 sign_f64 add_f16 sub_f16 mul_f16 div_f16 max_f16
  min_f16 equal_f16 less_f16 neg_f16 abs_f16 sign_f16 add_i8 sub_i8 mul_i8 div_i8 max_i8
  min_i8 equal_i8 less_i8 neg_i8 abs_i8 sign_i8 add_i16 sub_i16 mul_i16 div_i16 max_i16
  min_i16 equal_i16 less_i16 neg_i16 abs_i16 sign_i16 add_i32 sub_i32 mul_i32 div_i32 max_i32
  min_i32 equal_i32 less_i32 neg_i32 abs_i32 sign_i32 add_i64 sub_i64 mul_i64 div_i64 max_i64
  min_i64 neg_i64 abs_i64 sign_i64 add_u8 sub_u8 mul_u8 div_u8 max_u8 min_u8 equal_u8 less_u8
  add_u16 sub_u16 mul_u16 div_u16 max_u16 min_u16 equal_u16 less_u16 add_u32 sub_u32 mul_u32
  div_u32 max_u32 min_u32 equal_u32 less_u32 add_u64 sub_u64 mul_u64 div_u64 max_u64 min_u64
  equal_u64 less_u64 relu_f64 exp_f64 sqrt_f64 sigmoid_f64 tanh_f64 relu_f16 exp_f16 sqrt_f16
  sigmoid_f16 tanh_f16 where_f32 where_f64 where_f16 where_i8 where_i16 where_i32 where_i64
  where_u8 where_u16 where_u32 where_u64 bool_ops cast_f32_i32 cast_f32_i64 cast_f32_f16
  cast_f16_f32 cast_f32_f64 cast_f64_f32 cast_i64_f32 cast_i32_i64 cast_i64_i32 cast_f32_bool
  cast_bool_f32 cast_bool_i64 cast_i32_i8 cast_u8_f32 cast_f32_u8 cast_i8_i32 cast_u16_i32
  cast_i32_u32 cast_f32_i8 matmul_2d matmul_batched matmul_bcast_batch matmul_bcast_rhs2d
  matmul_bcast_lhs2d matmul_1d_2d matmul_2d_1d matmul_1d_1d matmul_1d_3d matmul_big
  matmul_const_weight matmul_const_packed matmul_i32 matmul_f64 gemm_default gemm_transA
  gemm_transB gemm_transAB gemm_alpha_beta gemm_scalar_c gemm_no_c gemm_inputs gemm_packed
  gemm_packed_transB conv2d conv2d_nobias conv2d_pads
  conv2d_pads_asym conv2d_strides conv2d_strides_uneven conv2d_dilations conv2d_groups
  conv2d_depthwise conv2d_depthwise_mult conv2d_depthwise_s2 conv2d_depthwise_5x5_dil
  conv2d_depthwise_mult_asym conv2d_depthwise_7x7 conv2d_1x1 conv2d_7x7_s2
  conv2d_winograd conv2d_winograd_nopad conv2d_winograd_odd conv2d_auto_same_upper
  conv2d_auto_same_lower conv2d_auto_same_upper_s2 conv2d_auto_valid conv2d_kernel_shape_attr
  conv1d conv1d_strides_dil conv3d conv3d_strides maxpool_2x2 maxpool_3x3_s2_p1 maxpool_ceil
  maxpool_ceil_pads maxpool_dilations maxpool_same_upper maxpool_stride1 maxpool_1d
  maxpool_3d avgpool_2x2 avgpool_pads_exclude avgpool_pads_include avgpool_ceil
  avgpool_ceil_pads_include avgpool_same_upper avgpool_1d globalavgpool globalavgpool_3d
  globalmaxpool globalmaxpool_1d batchnorm batchnorm_2d_input layernorm_last layernorm_axis1
  layernorm_nobias softmax_last softmax_axis1_opset13 softmax_axis1_opset11
  softmax_default_opset11 softmax_default_opset13 softmax_axis0 logsoftmax_last
  logsoftmax_axis1_opset11 softmax_large_values reducemean_keep reducemean_nokeep
  reducemean_neg_axis_opset11 reducemean_all reducemax_keep reducemax_nokeep
  reducemax_neg_axis_opset11 reducemax_all reducemin_keep reducemin_nokeep
  reducemin_neg_axis_opset11 reducemin_all reduceprod_keep reduceprod_nokeep
  reduceprod_neg_axis_opset11 reduceprod_all reducesum_axes_input_keep
  reducesum_axes_input_nokeep reducesum_axes_attr_opset11 reducesum_all
  reducesum_noop_empty_axes reducemean_spatial reducemax_i32 reducesum_i64 argmax_keep
  argmax_nokeep argmax_ties_first argmax_ties_last argmin_keep argmin_ties_last flatten_axis1
  flatten_axis0 flatten_axis_neg reshape_minus1 reshape_zero reshape_to_scalar_like
  transpose_default transpose_perm transpose_i64 concat_axis1 concat_neg_axis_const
  concat_i64 slice_basic slice_axes slice_negative slice_steps slice_neg_step_reverse
  slice_neg_step slice_neg_axis_clamp slice_empty gather_axis0 gather_negative_idx
  gather_axis1 gather_scalar_idx gather_i32_idx gather_runtime_idx squeeze_axes squeeze_all
  squeeze_opset11_attr unsqueeze unsqueeze_middle unsqueeze_opset11_attr shape
  shape_start_end shape_reshape_chain constant constant_value_float constant_value_ints
  constantofshape constantofshape_default_i64 constantofshape_runtime_shape expand
  expand_smaller_shape split_equal split_sizes_input split_opset11_attr range_f32
  range_i64_neg tile tile_i32_3d pad_constant pad_constant_zero pad_reflect pad_edge
  pad_negative pad_1d_reflect pad_opset11_i64 resize_nearest_up2_asym_floor
  resize_nearest_default resize_nearest_half_pixel_ceil resize_nearest_align_corners
  resize_nearest_sizes_down resize_nearest_pytorch_half_pixel resize_linear_half_pixel
  resize_linear_align_corners resize_opset11_scales conv_bn_relu_pool multi_output_shared
  output_is_input scalar_input
)

# Networks exported from torch; resnet18 and mobilenet_v2 are large, give them time.
set(DLC_E2E_TORCH_CASES mlp mnist_cnn resnet18 mobilenet_v2 transformer_opset13 transformer_opset17)

# ---------------------------------------------------------------- fixtures
add_test(NAME e2e/setup/oracle COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/setup-oracle.sh)
set_tests_properties(e2e/setup/oracle PROPERTIES FIXTURES_SETUP e2e_oracle TIMEOUT 600)

add_test(NAME e2e/setup/gen_ops COMMAND ${DLC_E2E_PYTHON} ${E2E_SRC}/gen_op_models.py ${E2E_DIR}/ops)
set_tests_properties(e2e/setup/gen_ops PROPERTIES FIXTURES_SETUP e2e_gen_ops TIMEOUT 600)

add_test(NAME e2e/setup/gen_torch COMMAND ${DLC_E2E_PYTHON} ${E2E_SRC}/gen_torch_models.py ${E2E_DIR}/torch)
set_tests_properties(e2e/setup/gen_torch PROPERTIES FIXTURES_SETUP e2e_gen_torch TIMEOUT 1200)

add_test(NAME e2e/setup/ref_ops COMMAND ${DLC_E2E_NODE} ${E2E_SRC}/ort_refs.mjs ${E2E_DIR}/ops)
set_tests_properties(e2e/setup/ref_ops PROPERTIES FIXTURES_SETUP e2e_ref_ops
  FIXTURES_REQUIRED "e2e_oracle;e2e_gen_ops" TIMEOUT 600)

add_test(NAME e2e/setup/ref_torch COMMAND ${DLC_E2E_NODE} ${E2E_SRC}/ort_refs.mjs ${E2E_DIR}/torch)
set_tests_properties(e2e/setup/ref_torch PROPERTIES FIXTURES_SETUP e2e_ref_torch
  FIXTURES_REQUIRED "e2e_oracle;e2e_gen_torch" TIMEOUT 600)

# ---------------------------------------------------------------- the tooling's own tests
string(REPLACE ";" "\n" _dlc_e2e_list "${DLC_E2E_OP_CASES}")
file(WRITE ${E2E_DIR}/registered_op_cases.txt "${_dlc_e2e_list}\n")
add_test(NAME e2e/setup/list_sync
  COMMAND ${E2E_CASE} listsync ${E2E_SRC}/gen_op_models.py ${E2E_DIR}/registered_op_cases.txt)
add_test(NAME e2e/selftest/compare COMMAND ${DLC_E2E_PYTHON} ${E2E_SRC}/selftest.py compare)
add_test(NAME e2e/selftest/npy COMMAND ${DLC_E2E_PYTHON} ${E2E_SRC}/selftest.py npy ${E2E_DIR}/selftest_npy)
# ONNX Runtime must agree with numpy / torch wherever the generators computed those too: this
# validates the models, the .npy I/O and the oracle before anything is blamed on dlc.
add_test(NAME e2e/selftest/oracle_ops COMMAND ${E2E_CASE} selfcheck ${E2E_DIR}/ops)
set_tests_properties(e2e/selftest/oracle_ops PROPERTIES FIXTURES_REQUIRED e2e_ref_ops)
add_test(NAME e2e/selftest/oracle_torch COMMAND ${E2E_CASE} selfcheck ${E2E_DIR}/torch)
set_tests_properties(e2e/selftest/oracle_torch PROPERTIES FIXTURES_REQUIRED e2e_ref_torch)
add_test(NAME e2e/selftest/ort_run
  COMMAND ${DLC_E2E_PYTHON} ${E2E_SRC}/selftest.py ortrun ${E2E_DIR}/torch/mnist_cnn ${E2E_DIR}/selftest_ort_run)
set_tests_properties(e2e/selftest/ort_run PROPERTIES FIXTURES_REQUIRED "e2e_oracle;e2e_gen_torch")
set_tests_properties(e2e/setup/list_sync e2e/selftest/compare e2e/selftest/npy e2e/selftest/ort_run
  PROPERTIES TIMEOUT 120)

# ---------------------------------------------------------------- dlc against the oracle
foreach(c IN LISTS DLC_E2E_OP_CASES)
  add_test(NAME e2e/op/${c} COMMAND ${E2E_CASE} check --dlc ${E2E_DLC} ${E2E_DIR}/ops/${c})
  set_tests_properties(e2e/op/${c} PROPERTIES FIXTURES_REQUIRED e2e_ref_ops TIMEOUT 300)
endforeach()
foreach(c IN LISTS DLC_E2E_TORCH_CASES)
  add_test(NAME e2e/model/${c} COMMAND ${E2E_CASE} check --dlc ${E2E_DLC} ${E2E_DIR}/torch/${c})
  set_tests_properties(e2e/model/${c} PROPERTIES FIXTURES_REQUIRED e2e_ref_torch TIMEOUT 1200)
endforeach()
# -O0 (no target passes, LLVM unoptimised) must give the reference's results too: the same
# results at -O0 and -O3, within the tolerances.
foreach(c IN LISTS DLC_E2E_OP_CASES)
  add_test(NAME e2e/O0/${c} COMMAND ${E2E_CASE} check --dlc ${E2E_DLC} --out dlc_O0 --opt-level 0
           ${E2E_DIR}/ops/${c})
  set_tests_properties(e2e/O0/${c} PROPERTIES FIXTURES_REQUIRED e2e_ref_ops TIMEOUT 300)
endforeach()
foreach(c IN LISTS DLC_E2E_TORCH_CASES)
  add_test(NAME e2e/O0/${c} COMMAND ${E2E_CASE} check --dlc ${E2E_DLC} --out dlc_O0 --opt-level 0
           ${E2E_DIR}/torch/${c})
  set_tests_properties(e2e/O0/${c} PROPERTIES FIXTURES_REQUIRED e2e_ref_torch TIMEOUT 1200)
endforeach()
# The isl round trip (loop IR -> domains, accesses, schedule tree -> isl AST -> loop IR) must
# compute the same results for every lowered op and network.
# So must the loops that isl's scheduler makes (isl-schedule: fusion, parallel loops), and
# the tiled ones (isl-tile). The op cases are small, so they are tiled with small, odd sizes
# (partial tiles everywhere); the networks with the target's default sizes. After fusion,
# contract-arrays shrinks the temporaries it made local (to locals); after tiling,
# promote-accumulators keeps the register blocks in locals and fuse-epilogues computes the
# element-wise consumers in their copy-outs (the reduction tiled: stores kept).
foreach(pass roundtrip schedule tile)
  set(_p "infer-shapes,fold-constants,dce,check-static,lower,isl-${pass}")
  set(_op_args "")
  if(pass STREQUAL "schedule")
    string(APPEND _p ",contract-arrays")
  elseif(pass STREQUAL "tile")
    string(APPEND _p ",contract-arrays,promote-accumulators,fuse-epilogues")
    set(_op_args --tile-sizes 3,2,5 --register-tile 2x3)
  endif()
  foreach(c IN LISTS DLC_E2E_OP_CASES)
    add_test(NAME e2e/${pass}/${c} COMMAND ${E2E_CASE} check --dlc ${E2E_DLC} --out dlc_${pass}
             --pipeline ${_p} ${_op_args} ${E2E_DIR}/ops/${c})
    set_tests_properties(e2e/${pass}/${c} PROPERTIES FIXTURES_REQUIRED e2e_ref_ops TIMEOUT 300)
  endforeach()
  foreach(c IN LISTS DLC_E2E_TORCH_CASES)
    add_test(NAME e2e/${pass}/${c} COMMAND ${E2E_CASE} check --dlc ${E2E_DLC} --out dlc_${pass}
             --pipeline ${_p} ${E2E_DIR}/torch/${c})
    set_tests_properties(e2e/${pass}/${c} PROPERTIES FIXTURES_REQUIRED e2e_ref_torch TIMEOUT 1200)
  endforeach()
endforeach()
# isl-tile-contractions, promote-accumulators and fuse-epilogues over padded inputs, Winograd convolutions and packed conv and matmul weights (the CPU's
# default loops for contractions; e2e/model runs the networks through them): the contraction
# op cases with small, odd sizes (partial blocks, isolated full blocks), which the default
# pipeline leaves alone (too little work to tile).
set(_p "infer-shapes,fold-constants,dce,check-static,explicit-pad,winograd-conv,pack-conv-weights,pack-matmul-weights,lower,isl-tile-contractions,promote-accumulators,fuse-epilogues")
foreach(c IN LISTS DLC_E2E_OP_CASES)
  if(c MATCHES "^(conv|matmul|gemm)")
    add_test(NAME e2e/contractions/${c} COMMAND ${E2E_CASE} check --dlc ${E2E_DLC} --out dlc_contractions
             --pipeline ${_p} --tile-sizes 3,2,5 --register-tile 2x3 ${E2E_DIR}/ops/${c})
    set_tests_properties(e2e/contractions/${c} PROPERTIES FIXTURES_REQUIRED e2e_ref_ops TIMEOUT 300)
  endif()
endforeach()
# Single-threaded and two-threaded runs must give the same results as the default.
add_test(NAME e2e/model/mnist_cnn_threads1
  COMMAND ${E2E_CASE} check --dlc ${E2E_DLC} --threads 1 --out dlc_t1 ${E2E_DIR}/torch/mnist_cnn)
add_test(NAME e2e/model/resnet18_threads2
  COMMAND ${E2E_CASE} check --dlc ${E2E_DLC} --threads 2 --out dlc_t2 ${E2E_DIR}/torch/resnet18)
set_tests_properties(e2e/model/mnist_cnn_threads1 e2e/model/resnet18_threads2 PROPERTIES
  FIXTURES_REQUIRED e2e_ref_torch TIMEOUT 1200)

# ---------------------------------------------------------------- bad input: clean one-line errors
set(_t ${E2E_DIR}/torch)
set(_bad ${E2E_DIR}/bad)
add_test(NAME e2e/error/unsupported_op
  COMMAND ${E2E_CASE} error --dlc ${E2E_DLC} --expect "unsupported op 'NonMaxSuppression'"
          ${_t}/unsupported_nms/model.onnx ${_t}/unsupported_nms/input_0.npy ${_t}/unsupported_nms/input_1.npy)
add_test(NAME e2e/error/unsupported_custom_domain
  COMMAND ${E2E_CASE} error --dlc ${E2E_DLC} --expect "FancyOp"
          ${_t}/unsupported_custom_domain/model.onnx ${_t}/unsupported_custom_domain/input_0.npy)
# Model files that are not valid ONNX: the message must name the file.
add_test(NAME e2e/error/truncated_model
  COMMAND ${E2E_CASE} error --dlc ${E2E_DLC} --expect truncated.onnx
          --truncate ${_t}/mnist_cnn/model.onnx:3000 ${_bad}/truncated.onnx ${_t}/mnist_cnn/input_0.npy)
add_test(NAME e2e/error/truncated_model_header
  COMMAND ${E2E_CASE} error --dlc ${E2E_DLC} --expect truncated_header.onnx
          --truncate ${_t}/mlp/model.onnx:40 ${_bad}/truncated_header.onnx ${_t}/mlp/input_0.npy)
add_test(NAME e2e/error/random_bytes_model
  COMMAND ${E2E_CASE} error --dlc ${E2E_DLC} --expect random.onnx
          --random-bytes 4096 ${_bad}/random.onnx ${_t}/mlp/input_0.npy)
add_test(NAME e2e/error/empty_model
  COMMAND ${E2E_CASE} error --dlc ${E2E_DLC} --expect empty.onnx
          --random-bytes 0 ${_bad}/empty.onnx ${_t}/mlp/input_0.npy)
add_test(NAME e2e/error/missing_model
  COMMAND ${E2E_CASE} error --dlc ${E2E_DLC} --expect does_not_exist.onnx
          ${_bad}/does_not_exist.onnx ${_t}/mlp/input_0.npy)
# Inputs that do not fit the model.
add_test(NAME e2e/error/input_wrong_shape
  COMMAND ${E2E_CASE} error --dlc ${E2E_DLC} --expect input_0.npy
          ${_t}/mlp/model.onnx ${_t}/mnist_cnn/input_0.npy)
add_test(NAME e2e/error/input_wrong_dtype
  COMMAND ${E2E_CASE} error --dlc ${E2E_DLC} --expect input_0.npy
          ${E2E_DIR}/ops/relu_f64/model.onnx ${E2E_DIR}/ops/exp/input_0.npy)
add_test(NAME e2e/error/input_missing
  COMMAND ${E2E_CASE} error --dlc ${E2E_DLC} ${E2E_DIR}/ops/add_same/model.onnx ${E2E_DIR}/ops/add_same/input_0.npy)
add_test(NAME e2e/error/input_not_npy
  COMMAND ${E2E_CASE} error --dlc ${E2E_DLC} --expect model.onnx
          ${_t}/mlp/model.onnx ${_t}/mlp/model.onnx)
set_tests_properties(
  e2e/error/unsupported_op e2e/error/unsupported_custom_domain e2e/error/truncated_model
  e2e/error/truncated_model_header e2e/error/random_bytes_model e2e/error/empty_model
  e2e/error/missing_model e2e/error/input_wrong_shape e2e/error/input_wrong_dtype
  e2e/error/input_missing e2e/error/input_not_npy
  PROPERTIES FIXTURES_REQUIRED "e2e_gen_torch;e2e_gen_ops" TIMEOUT 300)

# ---------------------------------------------------------------- target asic (simulated accelerator)
# The networks compiled for the accelerator and run on its simulator must match ONNX Runtime
# (same tolerances); one run also checks the --report JSON keys, the --trace tracks and the
# per-layer table.
set(DLC_E2E_ASIC_CASES mlp mnist_cnn resnet18 mobilenet_v2)
foreach(c IN LISTS DLC_E2E_ASIC_CASES)
  add_test(NAME e2e/asic/${c} COMMAND ${E2E_CASE} check --dlc ${E2E_DLC} --target asic --out dlc_asic
           ${E2E_DIR}/torch/${c})
  set_tests_properties(e2e/asic/${c} PROPERTIES FIXTURES_REQUIRED e2e_ref_torch TIMEOUT 1200)
endforeach()
add_test(NAME e2e/asic/report_trace
  COMMAND ${E2E_CASE} check --dlc ${E2E_DLC} --target asic --check-report --out dlc_asic_report
          ${E2E_DIR}/torch/mnist_cnn)
set_tests_properties(e2e/asic/report_trace PROPERTIES FIXTURES_REQUIRED e2e_ref_torch TIMEOUT 600)

# Everything above is an end-to-end test.
get_property(_dlc_e2e_tests DIRECTORY PROPERTY TESTS)
list(FILTER _dlc_e2e_tests INCLUDE REGEX "^e2e/")
set_tests_properties(${_dlc_e2e_tests} PROPERTIES LABELS e2e)
