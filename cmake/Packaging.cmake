# Install layout (GNUInstallDirs) and the Debian packages wingman-server and wingman-monitor.
# Packages are built with CMAKE_INSTALL_PREFIX=/usr (scripts/package.sh), so the configuration
# lands in /etc/wingman and the unit in /usr/lib/systemd/system.
include(GNUInstallDirs)

set(WINGMAN_CONFIG_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/wingman)
set(WINGMAN_UNIT_DIR ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)

configure_file(${PROJECT_SOURCE_DIR}/resources/wingman-server.service.in
  ${PROJECT_BINARY_DIR}/resources/wingman-server.service @ONLY)

install(TARGETS wingman-server RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)
install(FILES ${PROJECT_SOURCE_DIR}/resources/wingman.ini
  DESTINATION ${WINGMAN_CONFIG_DIR} COMPONENT server)
install(FILES ${PROJECT_BINARY_DIR}/resources/wingman-server.service
  DESTINATION ${WINGMAN_UNIT_DIR} COMPONENT server)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT server)

set(WINGMAN_PACKAGE_COMPONENTS server)
if(TARGET wingman-monitor)
  install(TARGETS wingman-monitor RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT monitor)
  install(FILES ${PROJECT_SOURCE_DIR}/resources/wingman-monitor.desktop
    DESTINATION ${CMAKE_INSTALL_DATADIR}/applications COMPONENT monitor)
  install(FILES ${PROJECT_SOURCE_DIR}/resources/icons/wingman-monitor.svg
    DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps COMPONENT monitor)
  list(APPEND WINGMAN_PACKAGE_COMPONENTS monitor)
endif()

configure_file(${PROJECT_SOURCE_DIR}/resources/debian/conffiles.in
  ${PROJECT_BINARY_DIR}/debian/server/conffiles @ONLY)
foreach(script postinst postrm)
  configure_file(${PROJECT_SOURCE_DIR}/resources/debian/${script}
    ${PROJECT_BINARY_DIR}/debian/server/${script} COPYONLY
    FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
    WORLD_READ WORLD_EXECUTE)
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME wingman)
set(CPACK_PACKAGE_VENDOR "Wingman")
set(CPACK_PACKAGE_CONTACT "Wingman maintainers <maintainers@wingman.invalid>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
set(CPACK_COMPONENTS_ALL ${WINGMAN_PACKAGE_COMPONENTS})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_SERVER_PACKAGE_NAME wingman-server)
set(CPACK_DEBIAN_SERVER_PACKAGE_SECTION net)
set(CPACK_COMPONENT_SERVER_DESCRIPTION "offline-first CRDT sync server (TopGun protocol)
 Wingman keeps last-writer-wins and observed-remove maps that clients write while
 offline and converge through Merkle-tree delta sync. It speaks the TopGun wire
 protocol over WebSocket and stores its data in SQLite or PostgreSQL.")
# Qt loads its SQL drivers as plugins, which dpkg-shlibdeps cannot see.
set(CPACK_DEBIAN_SERVER_PACKAGE_DEPENDS "libqt6sql6-sqlite")
set(CPACK_DEBIAN_SERVER_PACKAGE_RECOMMENDS "libqt6sql6-psql")
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_EXTRA
  "${PROJECT_BINARY_DIR}/debian/server/conffiles;${PROJECT_BINARY_DIR}/debian/server/postinst;${PROJECT_BINARY_DIR}/debian/server/postrm")

set(CPACK_DEBIAN_MONITOR_PACKAGE_NAME wingman-monitor)
set(CPACK_DEBIAN_MONITOR_PACKAGE_SECTION net)
set(CPACK_COMPONENT_MONITOR_DESCRIPTION "desktop monitor for Wingman sync servers
 Shows a Wingman node's ports, client connections and their auth states, cluster
 members, events and throughput, live from the node's metrics feed.")
# The window system integration is a plugin too.
set(CPACK_DEBIAN_MONITOR_PACKAGE_DEPENDS "qt6-qpa-plugins")

include(CPack)
