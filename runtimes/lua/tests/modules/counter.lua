counter_runs = counter_runs + 1
return {value = 42}
