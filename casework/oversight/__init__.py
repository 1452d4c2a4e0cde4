"""Levers people hold over the robots: the stop switch that sends every step to a person
(``stop_switch``), autonomy earned from measured agreement (``autonomy``) and the measured
accuracy at a policy's confidence threshold (``threshold_accuracy``)."""
