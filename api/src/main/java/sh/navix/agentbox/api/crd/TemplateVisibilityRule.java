package sh.navix.agentbox.api.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** One visibility rule: team and users combine with AND; empty means any. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TemplateVisibilityRule {
  /** Team that can see the template; empty means any. */
  @JsonProperty("team")
  private String team;

  /** Users that can see the template; empty means any. */
  @JsonProperty("users")
  private List<String> users;

  public String getTeam() {
    return team;
  }

  public void setTeam(String team) {
    this.team = team;
  }

  public List<String> getUsers() {
    return users;
  }

  public void setUsers(List<String> users) {
    this.users = users;
  }
}
