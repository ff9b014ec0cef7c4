# One warning set for every target of the project.
add_library(vkgraph_warnings INTERFACE)
if(MSVC)
  target_compile_options(vkgraph_warnings INTERFACE /W4 /permissive-)
  if(VKGRAPH_WERROR)
    target_compile_options(vkgraph_warnings INTERFACE /WX)
  endif()
else()
  target_compile_options(vkgraph_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
    -Woverloaded-virtual -Wimplicit-fallthrough -Wno-missing-field-initializers)
  if(VKGRAPH_WERROR)
    target_compile_options(vkgraph_warnings INTERFACE -Werror)
  endif()
endif()
