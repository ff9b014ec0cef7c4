#pragma once
// The host CPU as a device of the cpu backend: its registry record and its copy bandwidth.

#include "engine/backend/device_record.h"

namespace vkgraph::cpu {

// "CPU (N threads)" with its vendor and model from /proc/cpuinfo where the system has it.
DeviceRecord cpu_device_record();

// Bytes per second of a threaded memcpy of 64 MiB (read + write), best of 5 after a warm-up.
double cpu_copy_bandwidth();

}  // namespace vkgraph::cpu
