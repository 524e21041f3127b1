# `cmake --install` and `cpack -G DEB`: the bpnet command, the engine library
# (bpnet::bpnet) and the interop library (bpnet::interop: ONNX, C export), the
# public headers, CMake package files and pkg-config files. Both libraries are
# static; what they link is listed for their users (find_dependency below, and
# the Libs lines of the .pc files). docs/interop.md shows both ways of use.
include(CMakePackageConfigHelpers)

install(TARGETS bpnet bpnet_interop EXPORT bpnetTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS bpnet_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# plots.hpp and mpi.hpp belong to libraries that are part of the command only.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/bpnet DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        PATTERN plots.hpp EXCLUDE PATTERN mpi.hpp EXCLUDE)
install(FILES ${PROJECT_BINARY_DIR}/generated/bpnet/version.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/bpnet)

set(BPNET_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/bpnet)
install(EXPORT bpnetTargets NAMESPACE bpnet:: DESTINATION ${BPNET_CMAKE_DIR})
configure_package_config_file(cmake/bpnetConfig.cmake.in ${PROJECT_BINARY_DIR}/bpnetConfig.cmake
                              INSTALL_DESTINATION ${BPNET_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/bpnetConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/bpnetConfig.cmake ${PROJECT_BINARY_DIR}/bpnetConfigVersion.cmake
        DESTINATION ${BPNET_CMAKE_DIR})

# The .pc files find their prefix from where they lie, so an install with
# --prefix or DESTDIR (or a .deb) needs no editing.
file(RELATIVE_PATH BPNET_PC_TO_PREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
string(REGEX REPLACE "/$" "" BPNET_PC_TO_PREFIX "${BPNET_PC_TO_PREFIX}")
foreach(pc bpnet bpnet-interop)
  configure_file(cmake/${pc}.pc.in ${PROJECT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()

# A .deb of all of the above (scripts/test-install.sh installs and removes it).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME bpnet)
set(CPACK_PACKAGE_CONTACT "bpnet developers <bpnet@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # run-time libraries, as dpkg-shlibdeps finds them
# What a program built against the static libraries links besides them.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "zlib1g-dev, libfmt-dev, libonnx-dev, libprotobuf-dev")
include(CPack)
