# Fails when the per-ISA kernel object OBJECT defines a weak symbol outside
# the namespace ember::kernels::ISA. The linker keeps one copy of each weak
# symbol for the whole program, so such a symbol, compiled with this ISA's
# flags, could end up called from another ISA's kernels (see CMakeLists.txt).
#
# One exception: a symbol instantiated on this ISA's own xsimd architecture
# (its mangled name contains ARCH, e.g. xsimd::kernel::detail::exp<avx512f>).
# Only this object instantiates that architecture, so no other object can
# define the same symbol. Sanitizer builds emit such copies: their
# instrumentation makes GCC give up inlining xsimd's exp into its erfc and
# tanh despite flatten.
# Usage: cmake -DNM=<nm> -DISA=<isa> [-DARCH=<mangled xsimd arch>] -DOBJECT=<file.o> -P check_isa_symbols.cmake
execute_process(COMMAND ${NM} --defined-only ${OBJECT}
                OUTPUT_VARIABLE symbols RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "check_isa_symbols: ${NM} failed on ${OBJECT}")
endif()

# Itanium mangling of ember::kernels::<ISA>: entities (_ZN...) and entities
# local to its functions, such as lambdas (_ZZN...).
string(LENGTH ${ISA} isa_length)
set(own_prefix "_Z+N5ember7kernels${isa_length}${ISA}")

string(REPLACE "\n" ";" lines "${symbols}")
set(foreign "")
foreach(line IN LISTS lines)
  if(line MATCHES " [WVu] (.+)$")
    set(symbol ${CMAKE_MATCH_1})
    # DW.ref.* are the exception-personality pointers every C++ object
    # carries: data with the same value everywhere, not code.
    if(NOT symbol MATCHES "^${own_prefix}" AND NOT symbol MATCHES "^DW\\.ref\\."
       AND NOT (ARCH AND symbol MATCHES "^_ZN5xsimd" AND symbol MATCHES "${ARCH}"))
      list(APPEND foreign ${symbol})
    endif()
  endif()
endforeach()
if(foreign)
  list(JOIN foreign "\n  " listing)
  message(FATAL_ERROR
    "${OBJECT} (ISA ${ISA}) defines weak symbols outside ember::kernels::${ISA}; "
    "another ISA's code could bind to them:\n  ${listing}\n"
    "Inline them into the kernel (see kernels/CMakeLists.txt).")
endif()
