"""The controller-manager: one process running every built-in controller, leader-elected."""
