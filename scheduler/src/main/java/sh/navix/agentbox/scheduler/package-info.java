/** Claim scheduler: hands an idle warm-pool pod to each create request, first come first served (issue 4). */
package sh.navix.agentbox.scheduler;
