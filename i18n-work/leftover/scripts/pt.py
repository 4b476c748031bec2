from common import apply
apply("pt", [
"Mudar de língua",
"Escolha uma das línguas oficiais da UE na lista.",
"Execução do Roteiro da UE para combater o tráfico de droga e a criminalidade organizada nos portos: legislação, normas, orientações e acompanhamento dos compromissos da Aliança.",
"Trabalho conjunto das autoridades portuárias, operadores de terminal, companhias de navegação, alfândegas e polícia contra o método rip-on/rip-off, a utilização abusiva de contentores e as equipas de extração: indicadores de risco, controlos conjuntos e fluxos de informação entre a comunidade portuária e as autoridades de aplicação da lei.",
"Língua",
"A partir de agora, o PAX apresenta as suas páginas e envia-lhe as mensagens de correio eletrónico nesta língua.",
"As páginas e as mensagens de correio eletrónico que o PAX lhe envia são redigidas nesta língua. O que os membros escrevem permanece na língua em que foi escrito.",
"Proteção do pessoal e dos processos portuários contra a infiltração e a corrupção: inquéritos de segurança e verificação de antecedentes, risco interno, controlo do acesso a contentores e sistemas e apoio aos trabalhadores que são alvo de ameaças.",
"Guardar língua",
"Digitalização por scanner, deteção, análise de dados e processos digitais seguros que tornam os centros logísticos e o transporte marítimo resilientes à utilização abusiva para fins criminosos, desde os projetos-piloto até à contratação pública.",
"Língua do navegador (correio eletrónico em inglês)",
"não é claro se o ponto separa os milhares ou as casas decimais: escreva 1234 ou 1,234",
])
