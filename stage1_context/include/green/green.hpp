// green: the public API as of stage 1 (one OS thread, cooperative).
#pragma once
#include <green/local_scheduler.hpp>
#include <green/options.hpp>
#include <green/spawn.hpp>
#include <green/task_handle.hpp>
#include <green/this_task.hpp>
