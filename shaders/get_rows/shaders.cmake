# get_rows per table type: every type the weight-type table gives Vulkan kernels (vk_matmul).
vkgraph_weight_types_with(get_rows_types vk_matmul)
foreach(w IN LISTS get_rows_types)
  vkgraph_shader(NAME get_rows/get_rows_${VKGRAPH_TYPE_${w}_NAME} SOURCE get_rows.comp PUSH GetRowsPush DEFINES W_${w}=1)
endforeach()
