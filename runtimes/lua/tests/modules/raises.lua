raises_runs = (raises_runs or 0) + 1
if raises_runs == 1 then error("first load fails") end
return {v = raises_runs}
