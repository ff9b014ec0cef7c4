foreach(w F32 F16 Q8_0 Q4_0)
  string(TOLOWER ${w} wl)
  vkgraph_shader(NAME get_rows/get_rows_${wl} SOURCE get_rows.comp PUSH GetRowsPush DEFINES W_${w}=1)
endforeach()
