from common import apply
apply("es", [
"Cambiar de idioma",
"Elija una de las lenguas oficiales de la UE de la lista.",
"Aplicación de la Hoja de ruta de la UE para combatir el narcotráfico y la delincuencia organizada en los puertos: legislación, normas, orientaciones y seguimiento de los compromisos de la Alianza.",
"Trabajo conjunto de autoridades portuarias, operadores de terminal, navieras, aduanas y policía contra el método rip-on/rip-off, el uso indebido de contenedores y los equipos de extracción: indicadores de riesgo, controles conjuntos y flujos de información entre la comunidad portuaria y las autoridades policiales.",
"Idioma",
"PAX le mostrará a partir de ahora sus páginas y le enviará los correos electrónicos en este idioma.",
"Las páginas y los correos electrónicos que PAX le envía están redactados en este idioma. Lo que escriben los miembros se mantiene en la lengua en que lo escribieron.",
"Protección del personal y los procesos portuarios frente a la infiltración y la corrupción: investigación de antecedentes y controles de seguridad, riesgo interno, control del acceso a contenedores y sistemas, y apoyo a los trabajadores que sufren amenazas.",
"Guardar idioma",
"Escaneado, detección, análisis de datos y procesos digitales seguros que hacen que los nodos logísticos y el transporte marítimo sean resilientes frente a su uso indebido con fines delictivos, desde los proyectos piloto hasta la contratación pública.",
"Idioma del navegador (correo en inglés)",
"no queda claro si el punto separa los millares o los decimales: escriba 1234 o 1,234",
])
